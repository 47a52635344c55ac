"""Build ``FaceledgerSansCJK-Regular.ttf``, the font the PDFs embed and the result label is
drawn with: Noto Sans CJK SC, cut to the characters the service can print and converted from
PostScript (CFF) to TrueType outlines, because reportlab embeds only TrueType.

Run once, by hand, when the translations gain characters the font lacks (a test says so)::

    pip install fonttools
    python compliance_site/fonts/build_cjk_font.py NotoSansCJK-Regular.ttc

The argument is the Noto Sans CJK collection (or the SC ``.otf``); the SIL Open Font License
1.1 allows the cut and the renaming (``OFL.txt`` beside the font).

The characters kept: printable ASCII and Latin-1, general punctuation, arrows and common
symbols (✓, ⚠), the CJK symbols and full-width forms, every character of GB 2312 (the 6,763
common hanzi and its symbols), and every character of the project's templates and
translations.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "FaceledgerSansCJK-Regular.ttf"
FAMILY = "Faceledger Sans CJK"
MAX_ERROR = 1.0  # font units: the largest distance a quadratic may stray from the cubic


def gb2312() -> set[str]:
    chars = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def project_text() -> set[str]:
    chars: set[str] = set()
    for pattern in ("locale/**/*.po", "templates/**/*.html", "templates/**/*.txt"):
        for path in ROOT.glob(pattern):
            chars |= set(path.read_text(encoding="utf-8"))
    return chars


def wanted() -> set[int]:
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x27BF), (0x3000, 0x303F)]
    ranges.append((0xFF00, 0xFFEF))
    codes = {c for low, high in ranges for c in range(low, high + 1)}
    codes |= {ord(c) for c in gb2312() | project_text() if c.isprintable()}
    return codes


def load(source: Path) -> TTFont:
    if source.suffix.lower() == ".ttc":
        fonts = TTCollection(str(source)).fonts
        return next(f for f in fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    return TTFont(str(source))


def cut(font: TTFont, codes: set[int]) -> None:
    options = subset.Options()
    options.layout_features = ["kern", "palt", "vert"]
    options.hinting = False
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines by quadratic ``glyf`` outlines of the same shape."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    font["maxp"].tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxPoints",
        "maxContours",
        "maxCompositePoints",
        "maxCompositeContours",
        "maxComponentDepth",
    ):
        setattr(font["maxp"], attr, 0)
    font["maxp"].maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font["post"].glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcBBoxes = True


def rename(font: TTFont) -> None:
    names = font["name"]
    names.names = [n for n in names.names if n.nameID not in (1, 3, 4, 6, 16, 17)]
    for name_id, value in (
        (1, FAMILY),
        (3, f"{FAMILY} Regular; subset of Noto Sans CJK SC"),
        (4, f"{FAMILY} Regular"),
        (6, "FaceledgerSansCJK-Regular"),
    ):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)


def main(source: str) -> None:
    font = load(Path(source))
    cut(font, wanted())
    to_truetype(font)
    rename(font)
    font.save(str(OUT))
    print(f"{OUT.name}: {len(font.getGlyphOrder())} glyphs, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
