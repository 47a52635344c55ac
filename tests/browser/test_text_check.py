"""The checker that finds English on Chinese pages (no browser needed)."""

from __future__ import annotations

from tests.browser.text_check import english_words, html_texts


def test_english_words_are_found_and_names_codes_and_numbers_are_not():
    texts = [
        "您的账户 Your account",
        "Faceledger · SHA-256 指纹 3f2a9c0d1e4b5a6f · 10 MB · Ed25519 · JSON · PDF",
        "请联系 privacy@example.invalid 或访问 /api/v1/audit/proof/inclusion?index=3",
    ]

    assert english_words(texts) == ["Your", "account"]


def test_the_html_text_skips_untranslated_parts_and_reads_labels_and_script_strings():
    html = """<html lang="zh-hans"><head><title>登录 · Faceledger</title>
      <script>var ignored = "English in a script";</script></head>
      <body><p>你好 <code translate="no">biometric_enrolment</code></p>
      <button lang="en">English</button>
      <input aria-label="Phone number" placeholder="+44 7400 123456">
      <section hidden data-text-ready="Look at the camera."><p>开始</p></section></body></html>"""

    texts = html_texts(html)

    assert english_words(texts) == ["Phone", "number", "Look", "at", "the", "camera"]
    assert "开始" in texts and "登录 · Faceledger" in texts
