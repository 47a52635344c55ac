"""Decoding an uploaded liveness video with limits, entirely in memory.

WebM (VP8/VP9) as Chrome and Firefox record it, MP4 (H.264, or MPEG-4 part 2 "mp4v") as Safari
and phones record it. The container is chosen by the file's magic bytes; the bytes are read from
an ``io.BytesIO`` and never written to disk.

Duration is checked twice: by the container's metadata before decoding, and by the decoded
frames' timestamps while decoding (metadata can lie, and a live-recorded WebM has none), with a
cap on the number of decoded frames for when the timestamps lie too. Frames are sampled evenly
in time (``sample_fps``) and downscaled (``sample_max_side``) as they are decoded, so memory
stays bounded whatever the clip holds.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import av
import numpy as np

from .errors import AnalysisError

CODECS = frozenset({"vp8", "vp9", "h264", "mpeg4"})
_SLACK = 0.1  # seconds of rounding tolerated on the duration limit


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_seconds: float = 10.0
    min_seconds: float = 1.0
    max_long_side: int = 1920  # 1920x1080, either orientation
    max_short_side: int = 1080
    max_frames: int = 600  # decoded frames: 10 s at 60 fps
    sample_fps: float = 12.0
    max_samples: int = 120
    sample_max_side: int = 480  # selfie faces stay > 100 px; HOG time falls with the area


DEFAULT_LIMITS = VideoLimits()


@dataclass(frozen=True)
class DecodedVideo:
    frames: list[np.ndarray]  # the sampled frames, BGR uint8, upright
    times: list[float]  # seconds since the first frame, one per sampled frame
    duration: float  # seconds, by the decoded timestamps
    decoded_frames: int
    width: int
    height: int
    codec: str


def sniff_video(data: bytes) -> str | None:
    """The demuxer for ``data`` judged by its magic bytes (WebM/Matroska or MP4), or None."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if data[4:8] == b"ftyp":
        return "mp4"
    return None


def decode_video(data: bytes, limits: VideoLimits = DEFAULT_LIMITS) -> DecodedVideo:
    """Decode and sample ``data``. Raises ``AnalysisError`` with code ``video_too_large``,
    ``unsupported_video``, ``corrupt_video``, ``video_too_long`` or ``video_too_short``."""
    if len(data) > limits.max_bytes:
        raise AnalysisError("video_too_large", f"the video is over {limits.max_bytes} bytes")
    demuxer = sniff_video(data)
    if demuxer is None:
        raise AnalysisError("unsupported_video", "send a WebM or MP4 video")
    try:
        with av.open(io.BytesIO(data), mode="r", format=demuxer) as container:
            stream = _video_stream(container)
            declared = _check_metadata(container, stream, limits)
            return _decode(container, stream, declared, limits)
    except AnalysisError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise AnalysisError("corrupt_video", "the video cannot be decoded") from exc


def _video_stream(container) -> av.VideoStream:
    if not container.streams:
        raise AnalysisError("corrupt_video", "the video's index cannot be read")
    if not container.streams.video:
        raise AnalysisError("unsupported_video", "the file holds no video")
    stream = container.streams.video[0]
    if stream.codec_context.name not in CODECS:
        raise AnalysisError(
            "unsupported_video", f"video codec {stream.codec_context.name!r} is not accepted"
        )
    return stream


def _check_metadata(container, stream, limits: VideoLimits) -> float:
    """Refuse by the declared size and duration; return the declared duration (0 if none)."""
    _check_size(stream.codec_context.width, stream.codec_context.height, limits)
    declared = 0.0
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    elif container.duration:
        declared = container.duration / av.time_base
    if declared > limits.max_seconds + _SLACK:
        raise AnalysisError("video_too_long", f"the video is over {limits.max_seconds:g} s")
    return declared


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if max(width, height) > limits.max_long_side or min(width, height) > limits.max_short_side:
        raise AnalysisError(
            "video_too_large",
            f"frames are {width}x{height}; the limit is "
            f"{limits.max_long_side}x{limits.max_short_side}",
        )


class _Sampler:
    """Keeps one frame every 1/sample_fps seconds, downscaled and upright."""

    def __init__(self, limits: VideoLimits):
        self.limits = limits
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.next_time = 0.0

    def offer(self, frame: av.VideoFrame, elapsed: float) -> None:
        if elapsed + 1e-6 < self.next_time or len(self.frames) >= self.limits.max_samples:
            return
        self.frames.append(_to_bgr(frame, self.limits.sample_max_side))
        self.times.append(elapsed)
        step = 1.0 / self.limits.sample_fps
        self.next_time = (math.floor(elapsed / step + 1e-6) + 1) * step


def _decode(container, stream, declared: float, limits: VideoLimits) -> DecodedVideo:
    sampler = _Sampler(limits)
    rate = float(stream.average_rate or stream.guessed_rate or 30)
    count, first, latest = 0, None, 0.0
    for packet in container.demux(stream):
        for frame in packet.decode():
            count += 1
            if count > limits.max_frames:
                raise AnalysisError("video_too_long", "the video has too many frames")
            _check_size(frame.width, frame.height, limits)
            # Timestamps when present; else the frame count at the declared rate.
            stamp = frame.time if frame.time is not None else (count - 1) / rate
            first = stamp if first is None else first
            elapsed = stamp - first
            if elapsed > limits.max_seconds + _SLACK:
                raise AnalysisError("video_too_long", f"the video is over {limits.max_seconds:g} s")
            latest = max(latest, elapsed)
            sampler.offer(frame, elapsed)
    return _finish(sampler, stream, count, latest + 1.0 / rate, declared, limits)


def _finish(
    sampler: _Sampler, stream, count: int, duration: float, declared: float, limits: VideoLimits
) -> DecodedVideo:
    if count == 0:
        raise AnalysisError("corrupt_video", "no frame could be decoded")
    # An upload cut short still decodes up to the cut: compare with what the file declares.
    if (stream.frames and count < 0.9 * stream.frames) or duration < 0.9 * declared - 0.2:
        raise AnalysisError("corrupt_video", "the video is truncated")
    if duration < limits.min_seconds:
        raise AnalysisError("video_too_short", f"the video is under {limits.min_seconds:g} s")
    return DecodedVideo(
        frames=sampler.frames,
        times=sampler.times,
        duration=duration,
        decoded_frames=count,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        codec=stream.codec_context.name,
    )


def _to_bgr(frame: av.VideoFrame, max_side: int) -> np.ndarray:
    """BGR pixels, downscaled so the longer side is at most ``max_side``, then upright."""
    longest = max(frame.width, frame.height)
    if longest > max_side:
        scale = max_side / longest
        # Even sizes keep every chroma plane whole.
        width, height = 2 * round(frame.width * scale / 2), 2 * round(frame.height * scale / 2)
        image = frame.to_ndarray(format="bgr24", width=width, height=height)
    else:
        image = frame.to_ndarray(format="bgr24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, quarter_turns)) if quarter_turns else image
