"""Hostile uploads through the real endpoints (the capture API and the admin's template form):
decompression bombs, polyglots, videos that lie about their size or length, path-traversal and
NUL file names, wrong content types. Each is a 4xx with a code, in bounded memory and time, and
leaves nothing behind (rows, media files, upload temp files)."""

from __future__ import annotations

import io
import resource
import struct
import time
import tracemalloc
import zipfile
import zlib

import av
import numpy as np
import pytest

from biometrics.models import Capture, SubjectKey
from swap.models import SwapTemplate
from tests.biometrics import synth
from tests.erasure.kit import CAPTURES_URL, challenge_for, client_for, upload
from tests.swap.test_templates import ADD_TEMPLATE, add_form, admin_client  # noqa: F401

pytestmark = pytest.mark.django_db

MEGABYTE = 1024 * 1024
STEPS = synth.layout(["turn_left", "blink"])
MAX_SECONDS = 5.0
MAX_PYTHON_PEAK = 64 * MEGABYTE  # tracemalloc: what Python objects held at the worst moment
MAX_RSS_GROWTH = 256 * MEGABYTE  # whole process, C libraries (Pillow, FFmpeg) included


# --- hostile files ------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header declares ``width`` x ``height``; its data is real zero rows, streamed
    through zlib, when the size allows (a ~50 kB file that inflates to gigabytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _idat(width, height) + _chunk(b"IEND", b"")
    )


def _idat(width: int, height: int) -> bytes:
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # 1-bit rows: filter byte + packed pixels
    rows = min(height, 20_000)
    body = b"".join(packer.compress(row * 1000) for _ in range(rows // 1000)) + packer.flush()
    return _chunk(b"IDAT", body)


def jpeg_zip_polyglot(jpeg: bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.html", "<script>alert(1)</script>")
    return jpeg + archive.getvalue()


GIF_JS_POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(1);//" + b"\x00" * 32 + b";"


def clip(width: int, height: int, frames: int, rate: int, codec="mpeg4", fmt="mp4") -> bytes:
    data = io.BytesIO()
    with av.open(data, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            pixels = np.full((height, width, 3), i % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return data.getvalue()


def webm_claiming_16k() -> bytes:
    """A real 320x256 VP8 WebM whose track header is patched to claim 16000x16000."""
    real = clip(320, 256, 12, 10, codec="libvpx", fmt="webm")
    width, height = b"\xb0\x82\x01\x40", b"\xba\x82\x01\x00"  # PixelWidth 320, PixelHeight 256
    assert real.count(width) == 1 and real.count(height) == 1
    return real.replace(width, b"\xb0\x82\x3e\x80").replace(height, b"\xba\x82\x3e\x80")


def mp4_claiming_100k_frames() -> bytes:
    """A real H.264 MP4 whose sample table (stts) claims 100,000 frames."""
    real = clip(64, 64, 15, 10, codec="libx264")
    at = real.index(b"stts") + 12  # version/flags, entry count, then the first sample count
    return real[:at] + struct.pack(">I", 100_000) + real[at + 4 :]


# --- measuring ----------------------------------------------------------------------------------


def measured(call):
    """(result, seconds, Python peak bytes, process RSS growth bytes) of ``call()``."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = call()
        seconds = time.perf_counter() - started
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    return result, seconds, peak, growth


def kept(media_root, upload_dir) -> tuple:
    files = sorted(p.name for root in (media_root, upload_dir) for p in root.rglob("*"))
    return Capture.objects.count(), SubjectKey.objects.count(), SwapTemplate.objects.count(), files


@pytest.fixture
def api(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")
    return client_for(alice)


@pytest.fixture
def nothing_kept(_media_root, _upload_temp_dir):
    """Asserts, after the test, that no row or file was left."""
    before = kept(_media_root, _upload_temp_dir)
    yield
    assert kept(_media_root, _upload_temp_dir) == before


# --- the capture API ----------------------------------------------------------------------------

PHOTO_ATTACKS = {
    "png declaring 50000x50000": (lambda: png_declaring(50_000, 50_000), "image_too_large"),
    "compressible 20000x20000 1-bit png": (
        lambda: png_declaring(20_000, 20_000, bit_depth=1, colour=0),
        "image_too_large",
    ),
    "gif/js polyglot": (lambda: GIF_JS_POLYGLOT, "unsupported_image"),
    "html as photo": (lambda: b"<html><script>alert(1)</script></html>", "unsupported_image"),
    "a video as photo": (lambda: clip(64, 64, 5, 10), "unsupported_image"),
}


@pytest.mark.parametrize("attack", sorted(PHOTO_ATTACKS))
def test_a_hostile_photo_is_refused_in_bounded_memory_and_time(
    api, capture_media, attack, nothing_kept
):
    make, code = PHOTO_ATTACKS[attack]
    photo, video = make(), capture_media.video(STEPS)
    challenge = challenge_for(api)

    response, seconds, peak, growth = measured(
        lambda: upload(api, challenge=challenge["id"], photo=photo, video=video)
    )

    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert seconds < MAX_SECONDS and peak < MAX_PYTHON_PEAK and growth < MAX_RSS_GROWTH


VIDEO_ATTACKS = {
    "webm claiming 16000x16000": (webm_claiming_16k, "video_too_large"),
    "real 4096x4096 mpeg-4": (lambda: clip(4096, 4096, 2, 10), "video_too_large"),
    "mp4 claiming 100000 frames": (mp4_claiming_100k_frames, "corrupt_video"),
    "2000 frames at 1000 fps": (lambda: clip(64, 64, 2000, 1000), "video_too_long"),
    "a jpeg as video": (lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 2048, "unsupported_video"),
}


@pytest.mark.parametrize("attack", sorted(VIDEO_ATTACKS))
def test_a_hostile_video_is_refused_in_bounded_memory_and_time(
    api, capture_media, attack, nothing_kept
):
    make, code = VIDEO_ATTACKS[attack]
    video = make()
    challenge = challenge_for(api)

    response, seconds, peak, growth = measured(
        lambda: upload(api, challenge=challenge["id"], photo=capture_media.photo, video=video)
    )

    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert seconds < MAX_SECONDS and peak < MAX_PYTHON_PEAK and growth < MAX_RSS_GROWTH


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so file names reach the server exactly as given."""
    boundary = "hardening-boundary-7d1"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode("latin-1")
        body += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("filename", ["../../etc/passwd.jpg", "photo\x00.php.jpg", "..\\..\\x.jpg"])
def test_path_traversal_and_nul_file_names_store_nothing_anywhere(
    api, filename, nothing_kept, tmp_path
):
    challenge = challenge_for(api)
    body, content_type = _multipart(
        [
            ("challenge", None, challenge["id"].encode()),
            ("photo", filename, b"not an image at all"),
            ("video", filename.replace(".jpg", ".mp4"), b"not a video either"),
        ]
    )

    response = api.generic("POST", CAPTURES_URL, body, content_type=content_type)

    assert 400 <= response.status_code < 500
    assert "code" in response.json()
    assert not any("passwd" in p.name or ".php" in p.name for p in tmp_path.rglob("*"))


def test_a_json_body_is_refused_as_the_wrong_media_type(api, nothing_kept):
    response = api.post(CAPTURES_URL, {"photo": "AAAA", "video": "AAAA"}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_jpeg_zip_polyglot_photo_keeps_only_pixels(capture_media):
    """The photo is kept re-encoded from its decoded pixels, so an appended archive is gone."""
    from biometrics.services import capture_analyse

    polyglot = jpeg_zip_polyglot(capture_media.photo)
    assert zipfile.is_zipfile(io.BytesIO(polyglot))

    analysis = capture_analyse(photo=polyglot, video=capture_media.video(STEPS), steps=STEPS)

    assert analysis.photo_jpeg.startswith(b"\xff\xd8")
    assert b"PK\x03\x04" not in analysis.photo_jpeg
    assert not zipfile.is_zipfile(io.BytesIO(analysis.photo_jpeg))


# --- the admin's template upload ----------------------------------------------------------------

TEMPLATE_ATTACKS = {
    "png declaring 50000x50000": (lambda: png_declaring(50_000, 50_000), "template.png"),
    "compressible 20000x20000 png": (
        lambda: png_declaring(20_000, 20_000, bit_depth=1, colour=0),
        "template.png",
    ),
    "gif/js polyglot": (lambda: GIF_JS_POLYGLOT, "template.gif"),
    "webm claiming 16000x16000": (webm_claiming_16k, "template.webm"),
    "real 4096x4096 mpeg-4": (lambda: clip(4096, 4096, 2, 10), "template.mp4"),
    "mp4 claiming 100000 frames": (mp4_claiming_100k_frames, "template.mp4"),
    "path traversal name": (lambda: b"not an image", "../../etc/passwd.png"),
}


@pytest.mark.parametrize("attack", sorted(TEMPLATE_ATTACKS))
def test_a_hostile_template_is_a_form_error_in_bounded_memory_and_time(
    admin_client,  # noqa: F811
    attack,
    nothing_kept,
):
    make, name = TEMPLATE_ATTACKS[attack]
    form = add_form(make(), name)

    response, seconds, peak, growth = measured(lambda: admin_client.post(ADD_TEMPLATE, form))

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert seconds < MAX_SECONDS and peak < MAX_PYTHON_PEAK and growth < MAX_RSS_GROWTH
