"""Whole swap jobs: a still (``swap_image``) or a clip (``swap_video``), labelled, with provenance.

A clip is decoded with PyAV one frame at a time from memory and encoded as it goes (H.264 in
MP4, yuv420p, which browsers play), so memory holds the output and a frame or two, never the
whole clip decoded. Per frame: find the target face (near where it was in the previous frame,
else anywhere), swap, burn the label, encode with the decoder's timestamps. Frames without a face
are labelled and passed through. Audio is re-encoded to AAC. Provenance goes into MP4 metadata
tags; the index is moved to the front (see ``mp4.faststart``) so playback starts at once.

Between two frames ``should_stop()`` is asked; when it says so, ``SwapCancelled`` is raised
before the next frame is touched. ``on_progress`` gets whole percentages, rising, ending at 100.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import av
import cv2
import numpy as np

from biometrics.analysis import (
    VIDEO_CODECS,
    AnalysisError,
    Face,
    FaceAnalyser,
    decode_image,
    keypoints_from_68,
    sniff_video,
)

from . import watermark
from .base import SwapEngine
from .content_credentials import C2paCredentials, c2pa_sign
from .errors import TURNED_AWAY, SwapCancelled, SwapError
from .label import LABEL_TEXT, burn_label, png_with_provenance, provenance_fields
from .mp4 import faststart

METADATA_PREFIX = "com.faceledger."
_SLACK = 0.1  # seconds of rounding tolerated on the duration limit
_ENCODER_OPTIONS = {"preset": "veryfast", "crf": "20"}
# FFmpeg's AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic / AVColorRange.
_UNSPECIFIED, _BT470BG, _SMPTE170M = 2, 5, 6
_STUDIO_RANGE, _FULL_RANGE = 1, 2


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int = 200 * 1024 * 1024
    max_seconds: float = 30.0
    max_long_side: int = 1920  # 1920x1080, either orientation
    max_short_side: int = 1080
    max_frames: int = 1800  # 30 s at 60 fps


DEFAULT_LIMITS = VideoLimits()


# ---------------------------------------------------------------- stills


def swap_image(
    source_image: np.ndarray,
    source_face: Face,
    target_image: bytes,
    engine: SwapEngine,
    analyser: FaceAnalyser,
    *,
    job_id: str,
    created: datetime | None = None,
    c2pa_credentials: C2paCredentials | None = None,
    label: str = LABEL_TEXT,
) -> bytes:
    """PNG bytes: the target still with its best face swapped, labelled with ``label`` (the
    words of the visible mark, ``label.label_text``), with provenance (and a signed C2PA
    manifest when ``c2pa_credentials`` are given; see ``content_credentials``).

    Raises ``SwapError``: ``unsupported_image``, ``image_too_large``, ``corrupt_image`` (from
    decoding) or ``no_target_face``."""
    try:
        target = decode_image(target_image)
    except AnalysisError as exc:
        raise SwapError(exc.code, exc.message) from exc
    faces = analyser.detect(target)
    if not faces:
        raise SwapError("no_target_face", "no face was found in the target image")
    swapped = engine.swap(source_image, source_face, target, faces[0])
    moment = _now(created)
    # The invisible mark first, then the label over it: the label stays crisp.
    # mutant: skip embed — tests/swap/test_watermark.py
    #   test_a_swapped_still_carries_its_job_id_through_what_apps_do_to_it
    marked = watermark.embed(swapped, job_id)
    # mutant: skip burn_label — tests/swap/test_jobs_api.py
    #   test_a_still_is_swapped_into_a_labelled_encrypted_result_with_its_job_id
    png = png_with_provenance(
        burn_label(marked, label), job_id=job_id, engine=engine.name, created=moment
    )
    if c2pa_credentials is None:
        return png
    fields = provenance_fields(job_id=job_id, engine=engine.name, created=moment)
    return c2pa_sign(png, mime_type="image/png", fields=fields, credentials=c2pa_credentials)


def _now(created: datetime | None) -> datetime:
    return created if created is not None else datetime.now(UTC)


# ---------------------------------------------------------------- tracking


class FaceTracker:
    """Finds the target face frame after frame: first near its last box (a crop twice its size,
    shrunk so the face is at most ``detect_width`` px wide: the HOG detector's cost grows with
    the area it scans, and it finds faces down to ~80 px), then in the whole frame. In the crop
    the face nearest the last one wins; in the whole frame, the detector's best.

    Landmarks of a face that keeps still jitter by a pixel or two from frame to frame (the
    predictor follows the detector's box), which makes a swapped face shimmer. A tracked face's
    landmarks therefore go through a One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a
    low-pass whose cut-off rises with the face's speed, so a still face is held steady and a
    fast move is followed at once. Units are frames and face sizes: ``min_cutoff`` (cycles per
    frame) is the cut-off of a still face, ``beta`` how fast it opens with speed (face sizes
    per frame). Unlike the paper's, the cut-off opens with the square of the speed: a pixel of
    jitter hardly opens it, a jump opens it wide. One filter for all 68 points, so the face's
    shape is never smeared."""

    def __init__(
        self,
        analyser: FaceAnalyser,
        *,
        reach: float = 0.5,
        detect_width: int = 200,
        min_cutoff: float = 0.01,
        beta: float = 200.0,
    ):
        self.analyser = analyser
        self.reach = reach
        self.detect_width = detect_width
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.box: tuple[int, int, int, int] | None = None
        self.landmarks: np.ndarray | None = None
        self.velocity: np.ndarray | None = None

    def find(self, frame: np.ndarray) -> Face | None:
        face = self._near_last(frame, self.box) if self.box else None
        if face is not None:
            face = self._smoothed(face)
        else:
            faces = self.analyser.detect(frame)
            face = faces[0] if faces else None
        self.box = face.box if face else None
        self.landmarks = face.landmarks if face else None
        if face is None:
            self.velocity = None
        return face

    def _smoothed(self, face: Face) -> Face:
        if face.landmarks is None or self.landmarks is None:
            return face
        size = float(np.ptp(face.landmarks, axis=0).max()) or 1.0
        step = face.landmarks - self.landmarks
        # The speed is itself smoothed (cut-off 1 cycle per frame) so one noisy frame does
        # not open the filter.
        velocity = step if self.velocity is None else self.velocity
        velocity = velocity + _alpha(1.0) * (step - velocity)
        self.velocity = velocity
        speed = float(np.median(np.linalg.norm(velocity, axis=1))) / size
        alpha = _alpha(self.min_cutoff + self.beta * speed**2)
        landmarks = (self.landmarks + alpha * step).astype(np.float32)
        return replace(face, landmarks=landmarks, kps=keypoints_from_68(landmarks))

    def _near_last(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> Face | None:
        x0, y0, x1, y1 = box
        pad_x, pad_y = round((x1 - x0) * self.reach), round((y1 - y0) * self.reach)
        h, w = frame.shape[:2]
        cx0, cy0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
        cx1, cy1 = min(w, x1 + pad_x), min(h, y1 + pad_y)
        crop = frame[cy0:cy1, cx0:cx1]
        scale = min(1.0, self.detect_width / max(1, x1 - x0))
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = self.analyser.detect(crop)
        if not faces:
            return None
        centre = np.array([(x0 + x1) / 2 - cx0, (y0 + y1) / 2 - cy0]) * scale
        nearest = min(faces, key=lambda f: np.linalg.norm(_centre(f) - centre))
        return _moved(nearest, 1 / scale, cx0, cy0)


def _alpha(cutoff: float) -> float:
    """The weight of a new sample in a one-pole low-pass of ``cutoff`` cycles per frame."""
    return 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff))


def _centre(face: Face) -> np.ndarray:
    x0, y0, x1, y1 = face.box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def _moved(face: Face, factor: float, dx: int, dy: int) -> Face:
    """``face`` found in a crop scaled by 1/``factor``, in the coordinates of the frame the crop
    starts at (dx, dy)."""
    offset = np.array([dx, dy], dtype=np.float32)
    x0, y0, x1, y1 = (np.array(face.box, dtype=np.float64) * factor).round().astype(int)
    landmarks = None if face.landmarks is None else face.landmarks * factor + offset
    return replace(
        face,
        box=(int(x0) + dx, int(y0) + dy, int(x1) + dx, int(y1) + dy),
        kps=face.kps * factor + offset,
        landmarks=landmarks,
    )


# ---------------------------------------------------------------- clips


@dataclass
class _Job:
    """What one frame needs, and the progress so far."""

    source_image: np.ndarray
    source_face: Face
    engine: SwapEngine
    tracker: FaceTracker
    on_progress: Callable[[int], None]
    should_stop: Callable[[], bool]
    limits: VideoLimits
    expected_frames: int
    job_id: str
    label: str
    frames: int = 0
    swapped: int = 0
    percent: int = 0

    def report(self, percent: int) -> None:
        if percent > self.percent:
            self.percent = percent
            self.on_progress(percent)


def swap_video(
    source_image: np.ndarray,
    source_face: Face,
    target_video_bytes: bytes,
    engine: SwapEngine,
    analyser: FaceAnalyser,
    *,
    job_id: str,
    on_progress: Callable[[int], None],
    should_stop: Callable[[], bool],
    created: datetime | None = None,
    limits: VideoLimits = DEFAULT_LIMITS,
    c2pa_credentials: C2paCredentials | None = None,
    label: str = LABEL_TEXT,
) -> bytes:
    """MP4 bytes (H.264 + AAC when the input had sound): every frame labelled (``label``: the
    words of the visible mark, as for ``swap_image``), the target face
    swapped wherever it is found, provenance in the metadata (and a signed C2PA manifest when
    ``c2pa_credentials`` are given).

    Raises ``SwapCancelled`` when ``should_stop()`` returns True (asked before each frame), and
    ``SwapError``: ``video_too_large``, ``unsupported_video``, ``video_too_long``,
    ``corrupt_video``, or ``no_target_face`` when no frame had a face."""
    if len(target_video_bytes) > limits.max_bytes:
        raise SwapError("video_too_large", f"the video is over {limits.max_bytes} bytes")
    demuxer = sniff_video(target_video_bytes)
    if demuxer is None:
        raise SwapError("unsupported_video", "send an MP4 or WebM video")
    fields = provenance_fields(job_id=job_id, engine=engine.name, created=_now(created))
    on_progress(0)
    try:
        size = _upright_size(target_video_bytes, demuxer, limits)
        with av.open(io.BytesIO(target_video_bytes), mode="r", format=demuxer) as source:
            job_args = (source_image, source_face, engine, FaceTracker(analyser))
            encoded = _transcode(
                source, size, job_args, fields, on_progress, should_stop, limits, label
            )
    except (SwapError, SwapCancelled):
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise SwapError("corrupt_video", "the video cannot be decoded") from exc
    result = faststart(encoded)
    if c2pa_credentials is not None:
        result = c2pa_sign(
            result, mime_type="video/mp4", fields=fields, credentials=c2pa_credentials
        )
    on_progress(100)
    return result


def _upright_size(data: bytes, demuxer: str, limits: VideoLimits) -> tuple[int, int]:
    """The output's (even) size: the first frame's, turned upright by its display rotation.
    Read in a pass of its own because the output's streams must all exist before anything is
    written, and audio may come first in the file."""
    with av.open(io.BytesIO(data), mode="r", format=demuxer) as source:
        stream = _video_stream(source, limits)
        frame = next(source.decode(stream), None)
    if frame is None:
        raise SwapError("corrupt_video", "no frame could be decoded")
    width, height = frame.width, frame.height
    if round((frame.rotation or 0) / 90) % 2:
        width, height = height, width
    if min(width, height) < 16:
        raise SwapError("unsupported_video", "the frames are too small")
    return width - width % 2, height - height % 2


def _transcode(
    source,
    size,
    job_args: tuple[np.ndarray, Face, SwapEngine, FaceTracker],
    fields,
    on_progress,
    should_stop,
    limits,
    label: str,
) -> bytes:
    video = _video_stream(source, limits)
    audio = source.streams.audio[0] if source.streams.audio else None
    job = _Job(
        *job_args,
        on_progress=on_progress,
        should_stop=should_stop,
        limits=limits,
        expected_frames=_expected_frames(source, video, limits),
        job_id=fields["job_id"],
        label=label,
    )
    buffer = io.BytesIO()
    # +faststart needs a file it can reopen; mp4.faststart does that move in memory instead.
    options = {"movflags": "+use_metadata_tags"}
    with av.open(buffer, mode="w", format="mp4", options=options) as output:
        _write_metadata(output, fields)
        out_video = _add_video(output, video, size)
        out_audio = _add_audio(output, audio) if audio is not None else None
        streams = [video] + ([audio] if audio is not None else [])
        for packet in source.demux(*streams):
            if packet.stream is video:
                for frame in packet.decode():
                    _one_frame(job, frame, output, out_video)
            else:
                assert out_audio is not None  # a packet not of the video is of the audio
                for sound in packet.decode():
                    _check_time(sound, limits)
                    output.mux(out_audio.encode(sound))
        output.mux(out_video.encode(None))
        if out_audio is not None:
            output.mux(out_audio.encode(None))
    if job.frames == 0:
        raise SwapError("corrupt_video", "no frame could be decoded")
    if job.swapped == 0:
        raise SwapError("no_target_face", "no face was found in any frame of the video")
    return buffer.getvalue()


def _video_stream(source, limits: VideoLimits):
    if not source.streams.video:
        raise SwapError("unsupported_video", "the file holds no video")
    stream = source.streams.video[0]
    if stream.codec_context.name not in VIDEO_CODECS:
        raise SwapError("unsupported_video", f"codec {stream.codec_context.name!r} is refused")
    _check_size(stream.codec_context.width, stream.codec_context.height, limits)
    return stream


def _expected_frames(source, stream, limits: VideoLimits) -> int:
    """Frames the clip should hold, for progress; refuses a declared duration over the limit."""
    declared = 0.0
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    elif source.duration:
        declared = source.duration / av.time_base
    if declared > limits.max_seconds + _SLACK:
        raise SwapError("video_too_long", f"the video is over {limits.max_seconds:g} s")
    rate = float(stream.average_rate or stream.guessed_rate or 30)
    return max(1, stream.frames or round(declared * rate))


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if max(width, height) > limits.max_long_side or min(width, height) > limits.max_short_side:
        raise SwapError(
            "video_too_large",
            f"frames are {width}x{height}; the limit is "
            f"{limits.max_long_side}x{limits.max_short_side}",
        )


def _check_time(frame, limits: VideoLimits) -> None:
    if frame.time is not None and frame.time > limits.max_seconds + _SLACK:
        raise SwapError("video_too_long", f"the video is over {limits.max_seconds:g} s")


def _write_metadata(output, fields: dict[str, str]) -> None:
    for key, value in fields.items():
        output.metadata[METADATA_PREFIX + key] = value
    output.metadata["comment"] = (
        f"{LABEL_TEXT}. IPTC digital source type: {fields['digital_source_type']}. "
        f"Job {fields['job_id']}, engine {fields['engine']}."
    )


def _add_video(output, video, size: tuple[int, int]):
    """H.264 at ``size``, the input's rate and time base: the timestamps pass as they are."""
    stream = _h264_stream(output, video.average_rate or 30, size)
    stream.codec_context.time_base = video.time_base
    stream.time_base = video.time_base
    return stream


def _h264_stream(output, rate, size: tuple[int, int]):
    stream = output.add_stream("libx264", rate=rate, options=_ENCODER_OPTIONS)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    # Tagged as what _to_yuv420p writes: untagged HD is often shown as BT.709 by browsers.
    context = stream.codec_context
    context.colorspace, context.color_primaries, context.color_trc = (_SMPTE170M,) * 3
    context.color_range = _STUDIO_RANGE
    return stream


def encode_mp4(frames: Iterable[np.ndarray], *, fps: int) -> bytes:
    """BGR frames of one even size as an H.264 MP4, encoded as ``swap_video`` encodes its
    output (index in front). Neither labelled nor tagged: not a swap output (demo templates)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = None
        for image in frames:
            if stream is None:
                stream = _h264_stream(output, fps, (image.shape[1], image.shape[0]))
            output.mux(stream.encode(_to_yuv420p(image)))
        if stream is None:
            raise ValueError("no frames to encode")
        output.mux(stream.encode(None))
    return faststart(buffer.getvalue())


def _add_audio(output, audio):
    layout = audio.layout.name if audio.layout and audio.layout.nb_channels <= 2 else "stereo"
    return output.add_stream("aac", rate=audio.rate or 48000, layout=layout)


def _one_frame(job: _Job, frame: av.VideoFrame, output, stream) -> None:
    if job.should_stop():
        raise SwapCancelled(f"stopped after {job.frames} frames")
    job.frames += 1
    if job.frames > job.limits.max_frames:
        raise SwapError("video_too_long", "the video has too many frames")
    _check_time(frame, job.limits)
    _check_size(frame.width, frame.height, job.limits)
    image = _to_bgr(frame, stream.width, stream.height)
    face = job.tracker.find(image)
    if face is not None:
        try:
            image = job.engine.swap(job.source_image, job.source_face, image, face)
            job.swapped += 1
        except SwapError as exc:
            if exc.code != TURNED_AWAY:
                raise
            # A head turned away for a moment: the frame passes, labelled, as one without a face.
    # mutant: skip burn_label — tests/swap/test_jobs_api.py
    #   test_a_clip_is_swapped_frame_by_frame_into_a_labelled_h264_mp4_that_keeps_its_sound
    picture = _to_yuv420p(burn_label(watermark.embed(image, job.job_id), job.label))
    picture.pts, picture.time_base = frame.pts, frame.time_base
    output.mux(stream.encode(picture))
    job.report(min(99, job.frames * 100 // job.expected_frames))


def _to_yuv420p(image: np.ndarray) -> av.VideoFrame:
    """OpenCV's BT.601 studio-range conversion, matching the tags ``_add_video`` writes.
    swscale's (PyAV's ``from_ndarray``/``to_ndarray`` with bgr24) is off by a level or two per
    pass on this build, which adds up over re-encodes; OpenCV's round trip is within one."""
    planes = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).astype(np.uint8, copy=False)
    return av.VideoFrame.from_ndarray(planes, "yuv420p")


def _to_bgr(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The frame upright (display rotation applied), cut to the output's even size."""
    image = frame_to_bgr(frame)
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    if quarter_turns:
        image = np.rot90(image, quarter_turns)
    return np.ascontiguousarray(image[:height, :width])


def frame_to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """BGR pixels of a decoded frame: OpenCV for even-sized BT.601 studio-range 4:2:0 (what
    phones, browsers and this module write), swscale for anything else (BT.709, 10 bit...)."""
    bt601 = frame.colorspace in (_UNSPECIFIED, _BT470BG, _SMPTE170M)
    if (
        frame.format.name == "yuv420p"
        and bt601
        and frame.color_range != _FULL_RANGE
        and frame.width % 2 == 0
        and frame.height % 2 == 0
    ):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


# ---------------------------------------------------------------- reading provenance back


def read_mp4_provenance(data: bytes) -> dict[str, str]:
    """The provenance fields in an MP4 written by ``swap_video``; ``{}`` if it has none.

    Keys: ``digital_source_type``, ``job_id``, ``engine``, ``created``, ``label``."""
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        metadata = dict(container.metadata)
    return {
        key[len(METADATA_PREFIX) :]: value
        for key, value in metadata.items()
        if key.startswith(METADATA_PREFIX)
    }


def read_video_mark(data: bytes, *, tries: int = 12) -> str | None:
    """The watermark (``watermark.read``) of a clip: ``tries`` frames spread over its first
    ``tries * 5``, the first that reads wins. None when no frame carries one."""
    with av.open(io.BytesIO(data), mode="r") as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number >= tries * 5:
                break
            if number % 5 == 0:
                found = watermark.read(frame_to_bgr(frame))
                if found is not None:
                    return found
    return None


def iter_frames(data: bytes) -> Iterator[np.ndarray]:
    """Decoded BGR frames of a clip, one at a time (for checks and tests)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            yield frame_to_bgr(frame)
