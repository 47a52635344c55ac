"""Safe decoding of an uploaded photo: JPEG, PNG or WebP only, size checked before decoding.

The format is decided by the file's first bytes, never by its name or declared type. The
dimensions are read from the header (Pillow opens lazily) and refused above a pixel limit
before a single pixel is decoded, so a tiny file that declares 50,000 x 50,000 pixels costs
nothing. Truncated or corrupt data is refused rather than half-decoded (Pillow raises on a
truncated image unless ``ImageFile.LOAD_TRUNCATED_IMAGES`` is set; we never set it).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import AnalysisError

MAX_PIXELS = 40_000_000
MAX_BYTES = 20 * 1024 * 1024


def sniff_image(data: bytes) -> str | None:
    """The Pillow format name of ``data`` judged by its magic bytes, or None if not allowed."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(
    data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES
) -> np.ndarray:
    """Decode ``data`` to a BGR uint8 array (h, w, 3), upright per its EXIF orientation.

    Raises ``AnalysisError`` with code ``unsupported_image`` (not JPEG/PNG/WebP),
    ``image_too_large`` (bytes or pixels over the limits) or ``corrupt_image``.
    """
    if len(data) > max_bytes:
        raise AnalysisError("image_too_large", f"the image is over {max_bytes} bytes")
    image_format = sniff_image(data)
    if image_format is None:
        raise AnalysisError("unsupported_image", "send a JPEG, PNG or WebP image")
    image = _open_header(data, image_format)
    width, height = image.size
    if width < 1 or height < 1:
        raise AnalysisError("corrupt_image", "the image has no pixels")
    if width * height > max_pixels:
        raise AnalysisError(
            "image_too_large", f"the image is {width}x{height}; the limit is {max_pixels} pixels"
        )
    return _decode_pixels(image)


def _open_header(data: bytes, image_format: str) -> Image.Image:
    """Parse only the header, with Pillow restricted to the format the magic bytes named."""
    try:
        with warnings.catch_warnings():
            # Our own pixel limit is lower than Pillow's warning threshold; the error below
            # (over twice that threshold) still arrives as an exception.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[image_format])
    except Image.DecompressionBombError as exc:
        raise AnalysisError("image_too_large", "the image has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise AnalysisError("corrupt_image", "the image header cannot be read") from exc


def _decode_pixels(image: Image.Image) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = np.asarray(upright.convert("RGB"))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise AnalysisError("corrupt_image", "the image data is truncated or corrupt") from exc
    return np.ascontiguousarray(rgb[:, :, ::-1])
