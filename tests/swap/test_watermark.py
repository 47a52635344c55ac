"""The invisible mark: in every still and frame, carrying the job's id, surviving what
messaging apps and screenshots do, unseen (PSNR), and bound to the C2PA manifest."""

from __future__ import annotations

import io
import uuid

import av
import cv2
import numpy as np
import pytest

from swap.engines import watermark
from swap.engines.content_credentials import manifest_definition
from swap.engines.label import provenance_fields
from swap.engines.video import iter_frames, read_video_mark, swap_image, swap_video

JOB = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"


@pytest.fixture(scope="module")
def marked_still(engine, analyser, astronaut, other_person, other_face):
    target = cv2.imencode(".png", astronaut)[1].tobytes()
    data = swap_image(other_person, other_face, target, engine, analyser, job_id=JOB)
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _jpeg70(image):
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], 1)


def _half(image):
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), cv2.INTER_AREA)


def _crop10(image):
    h, w = image.shape[:2]
    return np.ascontiguousarray(image[h // 20 : h - h // 20, w // 20 : w - w // 20])


def _screenshot_crop(image):
    return np.ascontiguousarray(image[37:, 51:])  # an odd offset: off the mark's grid


@pytest.mark.parametrize(
    "transform",
    [lambda i: i, _jpeg70, _half, _crop10, _screenshot_crop],
    ids=["as made", "jpeg 70", "half size", "10 % crop", "odd crop"],
)
def test_a_swapped_still_carries_its_job_id_through_what_apps_do_to_it(marked_still, transform):
    assert watermark.read(transform(marked_still)) == uuid.UUID(JOB).hex[:16]


def test_a_picture_never_marked_reads_as_nothing(astronaut, other_person):
    for image in (astronaut, other_person, _jpeg70(astronaut), _half(astronaut)):
        assert watermark.read(image) is None


def test_the_mark_is_invisible_over_40_db(astronaut):
    marked = watermark.embed(astronaut, JOB)

    assert watermark.psnr(astronaut, marked) >= 40
    assert np.abs(marked.astype(int) - astronaut.astype(int)).max() < 40


def test_ids_that_are_not_uuids_are_marked_by_their_hash(astronaut):
    assert watermark.read(watermark.embed(astronaut, "job-1")) == watermark.mark_of("job-1")
    assert watermark.mark_of("job-1") != watermark.mark_of("job-2")


def _reencode(data: bytes, bitrate: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.bit_rate = bitrate
        for frame in source.decode(video=0):
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def test_every_frame_of_a_clip_carries_the_mark_even_after_a_cheaper_re_encode(
    engine, analyser, other_person, other_face, clip_silent
):
    data = swap_video(
        other_person,
        other_face,
        clip_silent,
        engine,
        analyser,
        job_id=JOB,
        on_progress=lambda _: None,
        should_stop=lambda: False,
    )

    frames = list(iter_frames(data))
    assert all(watermark.read(frame) == watermark.mark_of(JOB) for frame in frames[::4])
    assert read_video_mark(_reencode(data, 150_000)) == watermark.mark_of(JOB)


def test_the_c2pa_manifest_binds_the_mark_softly():
    fields = provenance_fields(job_id=JOB, engine="classic", created=_created())
    assertions = {a["label"]: a["data"] for a in manifest_definition(fields)["assertions"]}

    binding = assertions["c2pa.soft-binding"]
    assert binding["alg"] == watermark.ALGORITHM
    assert binding["blocks"][0]["value"] == "XwwdLjpLTF0="  # base64 of the id's first 8 bytes


def _created():
    from datetime import UTC, datetime

    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
