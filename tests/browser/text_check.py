"""Finds English left on a Chinese page.

``VISIBLE_TEXT_JS`` collects what a person sees or hears on the page: the text of rendered
elements, the accessible labels and placeholders, and the title. Skipped: hidden elements,
``<script>``/``<style>``, computer code (``<code>``, ``<pre>``, ...), and anything in a
``translate="no"`` element or marked with another language by ``lang`` (codes, hashes, names,
a language's own name). ``english_words`` then flags every Latin-letter word that is not on
the allow-list: names, units, file formats and standards that Chinese text writes in Latin
letters too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Names, formats and standards that stay in Latin letters in Chinese text.
ALLOWED = {
    word.lower()
    for word in (
        "Faceledger",
        "API",
        "JSON",
        "PDF",
        "SMS",
        "SHA",
        "ID",
        "AI",
        "RFC",
        "C2SP",
        "Ed25519",
        "GDPR",
        "PIPL",
        "Art",
        "MB",
        "JPEG",
        "PNG",
        "WebP",
        "WebM",
        "MP4",
        "IPTC",
        "C2PA",
        "UTC",
        "Kantara",
        "Merkle",
        "ZIP",
        "CSV",
        "OK",
        "Cookie",
        "PEM",
        "Python",
    )
}

# A word: Latin letters, possibly with digits inside (``Ed25519``), not part of a longer
# run of hexadecimal or an identifier (those are codes).
_WORD = re.compile(r"(?<![\w.-])[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?(?![\w-])")
_HEX_RUN = re.compile(r"\b[0-9a-f]{8,}\b")
# Addresses are names too: e-mail addresses, and URLs or paths.
_ADDRESS = re.compile(r"\S+@\S+|\b\w+://\S+|(?<!\w)/[\w./?=&-]+")


def english_words(texts: list[str]) -> list[str]:
    """Latin-letter words in ``texts`` outside the allow-list, each once, in order."""
    found: list[str] = []
    for text in texts:
        text = _ADDRESS.sub(" ", _HEX_RUN.sub(" ", text))
        for match in _WORD.finditer(text):
            word = match.group(0)
            if len(word) < 2 or word.lower() in ALLOWED or word in found:
                continue
            found.append(word)
    return found


VISIBLE_TEXT_JS = r"""
() => {
  const out = [];
  const CODE = ["CODE", "PRE", "KBD", "SAMP"];
  const skipped = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      if (node.getAttribute("translate") === "no" || CODE.includes(node.tagName)) return true;
      const lang = node.getAttribute("lang");
      if (lang !== null) return !lang.toLowerCase().startsWith("zh");
    }
    return false;
  };
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    return style.visibility !== "hidden" && style.display !== "none";
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || ["SCRIPT", "STYLE", "NOSCRIPT"].includes(el.tagName)) continue;
    if (skipped(el) || !shown(el)) continue;
    out.push(text);
  }
  const spoken = ["aria-label", "placeholder", "title", "alt", "data-label"];
  for (const el of document.querySelectorAll(spoken.map((name) => `[${name}]`).join(","))) {
    if (skipped(el)) continue;
    for (const name of spoken) {
      const value = el.getAttribute(name);
      if (value) out.push(value);
    }
  }
  out.push(document.title);
  return out;
}
"""


# Attributes whose text people see or hear; data-text-*/data-label-* are the capture page's
# script strings, rendered by the template (the script has none of its own).
_SPOKEN = {"aria-label", "placeholder", "title", "alt", "data-label"}
# Computer code is not translated: package names, commands, identifiers.
_CODE = {"code", "pre", "kbd", "samp"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip


class _Texts(HTMLParser):
    """The same as ``VISIBLE_TEXT_JS`` for server-rendered HTML. Without styles or scripts,
    every element counts as shown (a script may show what starts hidden)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[bool] = []  # per open element: is its content skipped?

    def _skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        if tag == "html":  # the page's own language is the one being checked
            lang = None
        skipped = (
            self._skipped()
            or tag in {"script", "style", "noscript", *_CODE}
            or attrs.get("translate") == "no"
            or (lang is not None and not lang.lower().startswith("zh"))
        )
        if not skipped:
            for name, value in attrs.items():
                spoken = name in _SPOKEN or name.startswith(("data-text-", "data-label-"))
                if spoken and value:
                    self.texts.append(value)
        if tag not in _VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag):
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip() and not self._skipped():
            self.texts.append(data.strip())


def html_texts(html: str) -> list[str]:
    """What a person sees or hears of ``html`` (see ``_Texts``)."""
    parser = _Texts()
    parser.feed(html)
    return parser.texts
