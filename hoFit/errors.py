"""User-facing errors.

`HoFitError` marks a problem the user can fix (bad input, missing file, wrong option). The CLI prints
it as one line with no traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["HoFitError"]


class HoFitError(ValueError):
    """A problem with the user's input, files or options; the message says what to do."""
