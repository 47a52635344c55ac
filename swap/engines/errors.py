"""The errors this package raises.

Like ``biometrics.analysis.AnalysisError`` they do not derive from the project's
``ApplicationError``: this package imports nothing from the rest of the project, and the swap
service maps them (``code`` and ``message`` are stable and safe to show).
"""

from __future__ import annotations

# A face turned too far from the camera for the engine to paint without tearing.
TURNED_AWAY = "face_turned_away"
SOURCE_TURNED_AWAY = "source_turned_away"


class SwapError(Exception):
    """Input that cannot be swapped: ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SwapCancelled(Exception):
    """``should_stop()`` said stop: raised between frames, before the next one is touched."""
