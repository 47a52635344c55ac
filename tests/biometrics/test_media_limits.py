"""Uploaded photos and videos: accepted formats, limits and refusals with stable codes."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from biometrics.analysis import AnalysisError
from biometrics.analysis.images import decode_image
from biometrics.analysis.video import VideoLimits, decode_video
from tests.biometrics import synth

# ---------------------------------------------------------------- images


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring ``width`` x ``height``, with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _refusal(call, *args, **kwargs) -> str:
    with pytest.raises(AnalysisError) as caught:
        call(*args, **kwargs)
    return caught.value.code


@pytest.fixture(scope="module")
def red_square():
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :, 2] = 255  # BGR: pure red
    return image


@pytest.mark.parametrize("extension", [".jpg", ".png", ".webp"])
def test_jpeg_png_and_webp_decode_to_bgr(red_square, extension):
    ok, encoded = cv2.imencode(extension, red_square)

    decoded = decode_image(encoded.tobytes())

    assert decoded.shape == (48, 64, 3) and decoded.dtype == np.uint8
    assert decoded[24, 32, 2] > 200 and decoded[24, 32, 0] < 40  # still red, in BGR order


def test_a_50000_by_50000_png_header_is_refused_fast_without_allocating():
    data = _png_header(50_000, 50_000)
    Image.open(io.BytesIO(_png_header(8, 8)))  # warm Pillow's plugin imports out of the timing

    tracemalloc.start()
    started = time.perf_counter()
    try:
        code = _refusal(decode_image, data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert code == "image_too_large"
    assert elapsed < 0.5
    assert peak < 5 * 1024 * 1024  # the pixels would be 7.5 GB


def test_an_image_over_the_pixel_limit_is_refused_from_its_header():
    assert _refusal(decode_image, _png_header(7000, 7000)) == "image_too_large"  # 49 MP
    assert _refusal(decode_image, _png_header(200, 200), max_pixels=100 * 100) == (
        "image_too_large"
    )


def test_an_image_over_the_byte_limit_is_refused(red_square):
    ok, encoded = cv2.imencode(".png", red_square)

    assert _refusal(decode_image, encoded.tobytes(), max_bytes=100) == "image_too_large"


def test_a_truncated_jpeg_is_refused_as_corrupt(astronaut):
    ok, encoded = cv2.imencode(".jpg", astronaut)
    data = encoded.tobytes()

    assert _refusal(decode_image, data[: len(data) // 2]) == "corrupt_image"
    assert _refusal(decode_image, data[:10]) == "corrupt_image"


def test_a_png_with_a_damaged_chunk_is_refused_as_corrupt(astronaut):
    ok, encoded = cv2.imencode(".png", astronaut)
    damaged = bytearray(encoded.tobytes())
    damaged[40] ^= 0xFF

    assert _refusal(decode_image, bytes(damaged)) == "corrupt_image"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"GIF89a" + bytes(40), b"%PDF-1.7\n" + bytes(40)],
    ids=["empty", "text", "gif", "pdf"],
)
def test_anything_but_jpeg_png_or_webp_is_unsupported(data):
    assert _refusal(decode_image, data) == "unsupported_image"


def test_the_exif_orientation_of_a_phone_photo_is_applied():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("RGB", (80, 40)).save(buffer, "JPEG", exif=exif.tobytes())

    assert decode_image(buffer.getvalue()).shape == (80, 40, 3)


# ---------------------------------------------------------------- videos


@pytest.fixture(scope="module")
def small_frames(astronaut):
    return synth.replay_frames(astronaut, fps=15, seconds=4.0, size=(160, 120), shake=1.0)


def _encode_live_webm(frames, fps: int) -> bytes:
    """WebM written as a browser streams it: not seekable, so no duration and no index."""

    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, chunk):
            self.data += bytes(chunk)
            return len(chunk)

    sink = Unseekable()
    with av.open(sink, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode(None))
    return bytes(sink.data)


@pytest.mark.parametrize("codec", ["libx264", "vp8", "vp9", "mp4v"])
def test_webm_and_mp4_clips_decode_to_evenly_sampled_frames(small_frames, codec):
    video = decode_video(synth.encode(small_frames, fps=15, codec=codec))

    assert video.codec == {"libx264": "h264", "mp4v": "mpeg4"}.get(codec, codec)
    assert video.decoded_frames == 60
    assert abs(video.duration - 4.0) < 0.1
    assert 44 <= len(video.frames) <= 50  # ~12 of the 15 frames a second
    gaps = np.diff(video.times)
    assert gaps.min() > 0.05 and gaps.max() < 0.15
    assert video.frames[0].shape == (120, 160, 3) and video.frames[0].dtype == np.uint8


def test_sampled_frames_are_downscaled_and_capped(small_frames):
    limits = VideoLimits(sample_max_side=80, max_samples=10)

    video = decode_video(synth.encode(small_frames, fps=15), limits)

    assert len(video.frames) == 10
    assert video.frames[0].shape == (60, 80, 3)
    assert (video.width, video.height) == (160, 120)


def test_a_portrait_phone_clip_is_turned_upright():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:20, :20] = 255  # a white corner, top left as stored
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.set_display_rotation(90)  # play it turned 90 degrees counter-clockwise
        for _ in range(20):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode(None))

    upright = decode_video(buffer.getvalue()).frames[0]

    assert upright.shape == (160, 120, 3)
    assert upright[150, 10].mean() > 200  # top left, turned counter-clockwise: bottom left


@pytest.mark.parametrize("codec", ["libx264", "vp8"])
def test_a_truncated_video_is_refused_as_corrupt(small_frames, codec):
    data = synth.encode(small_frames, fps=15, codec=codec)

    assert _refusal(decode_video, data[: len(data) // 2]) == "corrupt_video"
    assert _refusal(decode_video, data[: int(len(data) * 0.9)]) == "corrupt_video"


def test_a_video_longer_than_10_seconds_is_refused_by_its_metadata():
    frames = [np.full((64, 64, 3), i * 4 % 255, np.uint8) for i in range(56)]  # 11.2 s at 5 fps

    assert _refusal(decode_video, synth.encode(frames, fps=5)) == "video_too_long"


def test_a_long_video_without_duration_metadata_is_refused_by_its_decoded_time():
    frames = [np.full((64, 64, 3), i * 4 % 255, np.uint8) for i in range(56)]
    data = _encode_live_webm(frames, fps=5)
    with av.open(io.BytesIO(data)) as container:
        assert not container.duration  # nothing to check before decoding

    assert _refusal(decode_video, data) == "video_too_long"


def test_a_video_with_too_many_frames_is_refused_whatever_its_timestamps(small_frames):
    data = synth.encode(small_frames, fps=15)

    assert _refusal(decode_video, data, VideoLimits(max_frames=30)) == "video_too_long"


def test_a_video_under_a_second_is_refused_as_too_short():
    frames = [np.zeros((64, 64, 3), np.uint8)] * 4

    assert _refusal(decode_video, synth.encode(frames, fps=10)) == "video_too_short"


def test_a_file_over_20_mb_is_refused_before_parsing():
    data = b"\x1a\x45\xdf\xa3" + bytes(20 * 1024 * 1024)

    assert _refusal(decode_video, data) == "video_too_large"


def test_frames_over_1920_by_1080_are_refused():
    frames = [np.zeros((96, 2000, 3), np.uint8)] * 10

    assert _refusal(decode_video, synth.encode(frames, fps=5)) == "video_too_large"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world" * 20, b"\x89PNG\r\n\x1a\n" + bytes(100), b"RIFF\x00\x00\x00\x00AVI "],
    ids=["empty", "text", "png", "avi"],
)
def test_anything_but_webm_or_mp4_is_unsupported(data):
    assert _refusal(decode_video, data) == "unsupported_video"


def test_a_codec_other_than_vp8_vp9_h264_or_mp4v_is_unsupported():
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="bgr24")
            container.mux(stream.encode(frame.reformat(format="yuvj420p")))
        container.mux(stream.encode(None))

    assert _refusal(decode_video, buffer.getvalue()) == "unsupported_video"


def test_garbage_behind_a_valid_signature_is_refused_as_corrupt():
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8

    assert _refusal(decode_video, data) == "corrupt_video"


def test_synthetic_frames_can_be_written_as_y4m_for_a_fake_camera(small_frames, tmp_path):
    path = synth.write_y4m(small_frames[:5], tmp_path / "camera.y4m", fps=15)

    header = path.read_bytes().split(b"\n", 1)[0]
    assert header == b"YUV4MPEG2 W160 H120 F15:1 Ip A1:1 C420jpeg"
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == 5
    assert np.abs(decoded[2].astype(int) - small_frames[2].astype(int)).mean() < 3
