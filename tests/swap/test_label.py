"""The visible "AI-generated" mark and the PNG's machine-readable provenance (invariant 8)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from swap.engines.label import (
    DIGITAL_SOURCE_TYPE,
    XMP_KEY,
    burn_label,
    label_box,
    png_with_provenance,
    read_png_provenance,
)
from tests.swap.conftest import label_is_visible

CREATED = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("size", [(64, 48), (320, 240), (512, 512), (1280, 720), (1080, 1920)])
def test_the_label_box_fits_in_the_corner_and_grows_with_the_image(size):
    width, height = size
    x0, y0, x1, y1 = label_box(width, height)

    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert x1 > width * 0.9 and y1 > height * 0.9  # bottom right
    assert (y1 - y0) >= 0.04 * min(width, height)
    assert (x1 - x0) <= 0.7 * width


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_the_label_is_white_text_on_a_dark_box_whatever_lies_beneath(fill):
    image = np.full((360, 640, 3), fill, np.uint8)

    labelled = burn_label(image)

    assert label_is_visible(labelled)
    x0, y0, x1, y1 = label_box(640, 360)
    outside = np.ones(labelled.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (labelled[outside] == fill).all()


def test_burning_the_label_leaves_the_input_alone(astronaut):
    before = astronaut.copy()

    labelled = burn_label(astronaut)

    assert (astronaut == before).all()
    assert label_is_visible(labelled)


def test_the_label_is_drawn_the_same_way_every_time(astronaut):
    assert (burn_label(astronaut) == burn_label(astronaut)).all()


def test_the_png_carries_the_iptc_source_type_and_the_job_in_xmp(astronaut):
    data = png_with_provenance(
        burn_label(astronaut), job_id="job-42", engine="classic", created=CREATED
    )

    assert read_png_provenance(data) == {
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "job_id": "job-42",
        "engine": "classic",
        "created": "2026-11-26T12:30:00+00:00",
        "label": "AI-generated",
    }
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        xmp = image.info[XMP_KEY]
        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1]
    assert "Iptc4xmpExt:DigitalSourceType" in xmp
    assert "compositeWithTrainedAlgorithmicMedia" in xmp
    assert data.index(b"iTXtXML:com.adobe.xmp") < data.index(b"IDAT")  # readable from the head
    assert label_is_visible(pixels)


def test_a_job_id_with_markup_characters_is_escaped_and_read_back_intact(astronaut):
    job_id = 'a<b>&"c"'

    data = png_with_provenance(astronaut, job_id=job_id, engine="classic", created=CREATED)

    assert read_png_provenance(data)["job_id"] == job_id


def test_a_png_without_provenance_reads_as_empty():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")

    assert read_png_provenance(buffer.getvalue()) == {}


def test_an_xmp_packet_with_a_doctype_is_refused():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(XMP_KEY, '<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=info)

    with pytest.raises(ValueError, match="DOCTYPE"):
        read_png_provenance(buffer.getvalue())


def test_a_naive_creation_time_is_refused(astronaut):
    with pytest.raises(ValueError, match="timezone"):
        png_with_provenance(astronaut, job_id="j", engine="classic", created=datetime(2026, 1, 1))
