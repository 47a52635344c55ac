"""Output labelling (invariant 8): a visible "AI-generated" mark and machine-readable provenance.

The mark is white text on a dark, semi-opaque box in the top-right corner, scaled to the image,
drawn the same way for a still and for every frame of a clip. It sits at the top because video
players put their controls at the bottom, over the picture; stills follow the same rule. Its
words are English, followed by the page language's when that differs ("AI-generated·AI 生成",
``label_text``), drawn with the service's CJK font (``FONT_FILE``) in both languages
so the mark looks the same. ``label_box`` gives the rectangle so tests (and anyone checking an
output) know where to look. The patch (box and text) is drawn once per frame size and words and
composited onto each frame.

Provenance in a PNG is an XMP packet in an ``iTXt`` chunk keyed ``XML:com.adobe.xmp`` (where
Adobe's XMP specification part 3 puts it) stating the IPTC digital source type
``compositeWithTrainedAlgorithmicMedia`` plus the job's id, the engine and the creation time.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 - see _parse_xmp
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

LABEL_TEXT = "AI-generated"
DIGITAL_SOURCE_TYPE = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
XMP_KEY = "XML:com.adobe.xmp"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_OURS = "https://faceledger.example/ns/provenance/1.0/"

# The service's CJK font, ``compliance_site.fonts.CJK_FONT_FILE``, found by its path: the engines
# import nothing of the project's other packages (a test holds the two paths equal).
FONT_FILE = (
    Path(__file__).resolve().parents[2]
    / "compliance_site"
    / "fonts"
    / "FaceledgerSansCJK-Regular.ttf"
)
_BOX_OPACITY = 0.7  # the box keeps 30 % of what is under it: dark, yet not a black hole
_FONT_SHARE = 0.055  # font size (em) as a share of the shorter side: text ~4.5 % tall
_MIN_FONT = 12  # px: never smaller, unless the words would not fit across
_MAX_WIDTH = 0.6  # the text never takes more of the image's width than this


def label_text(in_page_language: str = LABEL_TEXT) -> str:
    """The mark's words: English, then the page language's when they differ. No spaces around
    the dot: the font's is a full-width glyph, its own space on each side."""
    words = in_page_language.strip()
    return LABEL_TEXT if words in ("", LABEL_TEXT) else f"{LABEL_TEXT}·{words}"


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_FILE), size)


def _bbox(size: int, text: str) -> tuple[int, int, int, int]:
    """The ink's (left, top, right, bottom) when PIL draws ``text`` at (0, 0), in whole pixels."""
    left, top, right, bottom = _font(size).getbbox(text)
    return int(left), int(top), math.ceil(right), math.ceil(bottom)


class _Layout(NamedTuple):
    font: ImageFont.FreeTypeFont
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1), end-exclusive, within the image
    origin: tuple[int, int]  # where PIL draws the text, relative to the box


@lru_cache(maxsize=32)
def _layout(width: int, height: int, text: str) -> _Layout:
    """Font size about 5.5 % of the shorter side (never under 12 px), shrunk until the words
    take at most 60 % of the width; the box pads them and keeps the same distance from the
    top and right edges."""
    size = max(_MIN_FONT, round(_FONT_SHARE * min(width, height)))
    left, top, right, bottom = _bbox(size, text)
    while size > 1 and right - left > _MAX_WIDTH * width:
        size = max(1, min(size - 1, int(size * _MAX_WIDTH * width / (right - left))))
        left, top, right, bottom = _bbox(size, text)
    pad = max(3, round(size * 0.35))
    x1, y0 = width - pad, pad
    x0, y1 = max(0, x1 - (right - left) - 2 * pad), min(height, y0 + (bottom - top) + 2 * pad)
    return _Layout(_font(size), (x0, y0, x1, y1), (pad - left, pad - top))


def label_box(width: int, height: int, text: str = LABEL_TEXT) -> tuple[int, int, int, int]:
    """The rectangle ``(x0, y0, x1, y1)`` (end-exclusive) that ``burn_label`` darkens."""
    return _layout(width, height, text).box


@lru_cache(maxsize=32)
def _patch(width: int, height: int, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(keep, add) for the box: a labelled pixel is ``pixel * keep + add``. Drawn once per
    frame size and words, then read-only."""
    layout = _layout(width, height, text)
    x0, y0, x1, y1 = layout.box
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    # mutant: delete — tests/swap/test_label.py
    #   test_the_label_is_white_text_on_a_dark_box_whatever_lies_beneath
    ImageDraw.Draw(mask).text(layout.origin, text, font=layout.font, fill=255)
    # Three channels spelt out: broadcasting one over three costs 4x per frame.
    alpha = np.repeat(np.asarray(mask, np.float32)[:, :, None] / 255, 3, axis=2)
    keep = (1 - _BOX_OPACITY) * (1 - alpha)
    add = 255 * alpha + 0.5  # + 0.5: rounded, not truncated, when cast back to bytes
    for array in (keep, add):
        array.flags.writeable = False
    return keep, add


def burn_label(image_bgr: np.ndarray, text: str = LABEL_TEXT) -> np.ndarray:
    """A copy of ``image_bgr`` with ``text`` in white on a dark box in the top-right corner."""
    height, width = image_bgr.shape[:2]
    x0, y0, x1, y1 = label_box(width, height, text)
    keep, add = _patch(width, height, text)
    out = image_bgr.copy()
    region = out[y0:y1, x0:x1]
    # mutant: delete — tests/swap/test_label.py
    #   test_the_label_is_white_text_on_a_dark_box_whatever_lies_beneath
    out[y0:y1, x0:x1] = region * keep + add
    return out


# ---------------------------------------------------------------- PNG provenance


def provenance_fields(*, job_id: str, engine: str, created: datetime) -> dict[str, str]:
    """The provenance every output carries, as flat strings (PNG XMP and MP4 tags alike)."""
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    return {
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "job_id": str(job_id),
        "engine": engine,
        "created": created.astimezone(UTC).isoformat(timespec="seconds"),
        "label": LABEL_TEXT,
    }


def xmp_packet(fields: dict[str, str]) -> str:
    """An XMP packet stating the IPTC digital source type and our job id, engine and time."""
    value = {key: escape(text, {'"': "&quot;"}) for key, text in fields.items()}
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{NS_RDF}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"\n'
        f'    xmlns:xmp="{NS_XMP}"\n'
        f'    xmlns:fl="{NS_OURS}"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{value["digital_source_type"]}"\n'
        f'    xmp:CreateDate="{value["created"]}"\n'
        f'    xmp:CreatorTool="Faceledger swap engine {value["engine"]}"\n'
        f'    fl:JobId="{value["job_id"]}"\n'
        f'    fl:Engine="{value["engine"]}"\n'
        f'    fl:Label="{value["label"]}"/>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="r"?>'
    )


def png_with_provenance(
    image_bgr: np.ndarray, *, job_id: str, engine: str, created: datetime
) -> bytes:
    """PNG bytes of ``image_bgr`` (already labelled) with the provenance XMP in an iTXt chunk."""
    info = PngImagePlugin.PngInfo()
    # mutant: delete — tests/swap/test_label.py
    #   test_the_png_carries_the_iptc_source_type_and_the_job_in_xmp
    info.add_itxt(
        XMP_KEY, xmp_packet(provenance_fields(job_id=job_id, engine=engine, created=created))
    )
    buffer = io.BytesIO()
    # zlib level 1: a 720p PNG in ~80 ms instead of ~330 ms at level 6, for 15 % more bytes.
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    Image.fromarray(rgb).save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def read_png_provenance(data: bytes) -> dict[str, str]:
    """The provenance fields of a PNG written by ``png_with_provenance``; ``{}`` if it has none.

    Keys: ``digital_source_type``, ``job_id``, ``engine``, ``created``, ``label``."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        image.load()  # iTXt chunks after the image data are read only with the pixels
        packet = image.info.get(XMP_KEY)
    if not packet:
        return {}
    return _parse_xmp(str(packet))


_ATTRIBUTES = {
    f"{{{NS_IPTC_EXT}}}DigitalSourceType": "digital_source_type",
    f"{{{NS_XMP}}}CreateDate": "created",
    f"{{{NS_OURS}}}JobId": "job_id",
    f"{{{NS_OURS}}}Engine": "engine",
    f"{{{NS_OURS}}}Label": "label",
}


def _parse_xmp(packet: str) -> dict[str, str]:
    """Our fields from an XMP packet. A DOCTYPE (where entity expansion attacks live) is
    refused before parsing; expat itself bounds entity amplification since 2.4.1."""
    if re.search(r"<!DOCTYPE|<!ENTITY", packet, re.IGNORECASE):
        raise ValueError("the XMP packet declares a DOCTYPE")
    body = re.sub(r"<\?xpacket[^>]*\?>", "", packet).strip()
    root = ET.fromstring(body)  # noqa: S314 - DOCTYPE refused above
    fields: dict[str, str] = {}
    for description in root.iter(f"{{{NS_RDF}}}Description"):
        for attribute, key in _ATTRIBUTES.items():
            if attribute in description.attrib:
                fields[key] = description.attrib[attribute]
    return fields
