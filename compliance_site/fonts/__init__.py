"""The one CJK font of the service (see ``build_cjk_font.py`` and ``OFL.txt``): embedded in the
PDFs and used to draw the label on results, so Chinese prints the same everywhere without
relying on a font the reader's machine may lack."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CJK_FONT_FILE = Path(__file__).resolve().parent / "FaceledgerSansCJK-Regular.ttf"


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    return frozenset(TTFontFile(str(CJK_FONT_FILE)).charToGlyph)


def missing_glyphs(text: str) -> set[str]:
    """The printable characters of ``text`` the font cannot draw (empty when it draws them all)."""
    covered = _covered()
    return {c for c in text if c.isprintable() and c != " " and ord(c) not in covered}
