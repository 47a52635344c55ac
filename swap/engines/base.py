"""The engine-neutral swap interface.

An engine paints the face found in a source image onto a target face in another image. It gets
both images and both ``Face`` records (from ``biometrics.analysis``) and returns a new image; it
never detects faces itself, so the caller chooses which face to replace, tracks it across video
frames, and the same engine serves stills and video.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from biometrics.analysis import Face


@runtime_checkable
class SwapEngine(Protocol):
    """Paints a source face onto a target face. Implementations are thread-safe."""

    name: str

    def swap(
        self,
        source_image_bgr: np.ndarray,
        source_face: Face,
        target_bgr: np.ndarray,
        target_face: Face,
    ) -> np.ndarray:
        """A new BGR uint8 image: ``target_bgr`` with ``target_face`` replaced by the source
        face. The inputs are not modified."""
        ...
