"""The one error this package raises for bad input.

It does not derive from the project's ``ApplicationError`` because this package imports nothing
from the rest of the project; the capture service maps it (``code`` and ``message`` are stable
and safe to show) to a 422.
"""

from __future__ import annotations


class AnalysisError(Exception):
    """Input that cannot be analysed: ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
