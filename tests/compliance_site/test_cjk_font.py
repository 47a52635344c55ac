"""The embedded CJK font draws every character the service prints in either language."""

from __future__ import annotations

from pathlib import Path

from compliance_site.fonts import CJK_FONT_FILE, missing_glyphs

ROOT = Path(__file__).resolve().parents[2]


def test_the_font_draws_every_character_of_the_translations_and_templates():
    texts = [p.read_text(encoding="utf-8") for p in ROOT.glob("locale/**/*.po")]
    texts += [p.read_text(encoding="utf-8") for p in ROOT.glob("templates/**/*.html")]
    missing = missing_glyphs("".join(texts))
    assert not missing, (
        f"rebuild {CJK_FONT_FILE.name} with compliance_site/fonts/build_cjk_font.py: "
        f"it lacks {sorted(missing)}"
    )


def test_the_font_draws_the_common_hanzi_and_the_marks_of_chinese_text():
    assert not missing_glyphs("人脸数据同意删除证书，。：；？！（）“”·、《》…—")
    assert missing_glyphs("\U0001f600") == {"\U0001f600"}
