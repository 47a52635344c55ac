"""The visible "AI-generated" mark (at the top, where no player control covers it; in the page's
language as well as English) and the PNG's machine-readable provenance (invariant 8)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from PIL import Image

from compliance_site.fonts import CJK_FONT_FILE, missing_glyphs
from swap.engines.label import (
    DIGITAL_SOURCE_TYPE,
    FONT_FILE,
    LABEL_TEXT,
    XMP_KEY,
    burn_label,
    label_box,
    label_text,
    png_with_provenance,
    read_png_provenance,
)
from swap.models import SwapJob
from tests.swap.conftest import label_is_visible, label_reads
from tests.swap.jobkit import SWAPS_URL, open_result

CREATED = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
CHINESE = "AI-generated·AI 生成"  # what a swap asked for from a Chinese page carries


@pytest.mark.parametrize("text", [LABEL_TEXT, CHINESE])
@pytest.mark.parametrize("size", [(64, 48), (320, 240), (512, 512), (1280, 720), (1080, 1920)])
def test_the_label_box_sits_top_right_clear_of_the_players_controls_and_grows_with_the_image(
    size, text
):
    width, height = size
    x0, y0, x1, y1 = label_box(width, height, text)

    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert x1 > width * 0.9 and y0 < height * 0.1  # top right
    assert y1 <= height * 0.85  # players put their controls over the bottom 15 %
    assert (y1 - y0) >= 0.04 * min(width, height)
    assert (x1 - x0) <= 0.7 * width


def test_the_label_is_in_english_and_the_page_language_when_it_is_another():
    assert label_text(LABEL_TEXT) == label_text("") == LABEL_TEXT
    assert label_text("AI 生成") == CHINESE
    assert missing_glyphs(CHINESE) == set()
    assert FONT_FILE == CJK_FONT_FILE  # the service's one CJK font, which covers them


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_a_chinese_label_is_white_text_on_a_dark_box_wider_than_the_english_one(fill):
    image = np.full((360, 640, 3), fill, np.uint8)

    labelled = burn_label(image, CHINESE)

    assert label_is_visible(labelled, CHINESE)
    assert label_reads(labelled, CHINESE) and not label_reads(labelled, LABEL_TEXT)
    x0, y0, x1, y1 = label_box(640, 360, CHINESE)
    english = label_box(640, 360)
    assert x0 < english[0] and x1 == english[2]  # same corner, longer words
    outside = np.ones(labelled.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (labelled[outside] == fill).all()


def test_chinese_characters_are_drawn_as_themselves_not_as_missing_glyph_boxes():
    image = np.full((360, 640, 3), 128, np.uint8)

    # A font without them draws each as the same empty box: swapping two would change nothing.
    assert (burn_label(image, "AI 生成") != burn_label(image, "AI 成生")).any()


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
    assert (burn_label(astronaut, CHINESE) == burn_label(astronaut, CHINESE)).all()


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


# --- the language of the page the swap was asked from -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "language", "text", "other"),
    [("zh-CN,zh;q=0.9", "zh-hans", CHINESE, LABEL_TEXT), ("en-GB", "en", LABEL_TEXT, CHINESE)],
    ids=["chinese", "english"],
)
def test_a_swap_asked_for_in_chinese_is_marked_in_chinese_and_english_and_in_english_in_english(
    alice,
    ready,
    image_template,
    django_capture_on_commit_callbacks,
    accept_language,
    language,
    text,
    other,
):
    from biometrics import vault

    api, capture = ready

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            SWAPS_URL,
            {"capture": str(capture.pk), "template": str(image_template.pk)},
            format="json",
            HTTP_ACCEPT_LANGUAGE=accept_language,
        )

    assert response.status_code == 202
    job = SwapJob.objects.get()
    assert job.status == "done" and job.language == language
    png = open_result(job, vault.subject_key(alice.pk))
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert label_reads(image, text) and not label_reads(image, other)
    assert read_png_provenance(png)["label"] == LABEL_TEXT  # the machine-readable field stays


@pytest.mark.django_db
def test_a_swap_without_enrolment_asked_for_in_chinese_is_marked_in_chinese_and_english(
    alice, grant_consent, capture_media, image_template
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from biometrics import vault
    from tests.erasure.kit import client_for

    grant_consent(alice, "ephemeral_swap")
    api = client_for(alice)
    challenge = api.get("/api/v1/ephemeral-swaps/challenge").json()

    response = api.post(
        "/api/v1/ephemeral-swaps",
        {
            "challenge": challenge["id"],
            "template": str(image_template.pk),
            "photo": SimpleUploadedFile("photo.jpg", capture_media.photo),
            "video": SimpleUploadedFile("video.mp4", capture_media.video(challenge["steps"])),
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )

    assert response.status_code == 201, response.content
    job = SwapJob.objects.get()
    assert job.ephemeral and job.language == "zh-hans"
    png = open_result(job, vault.subject_key(alice.pk))
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert label_reads(image, CHINESE) and not label_reads(image, LABEL_TEXT)
