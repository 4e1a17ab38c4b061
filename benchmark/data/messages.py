"""One-line input errors for the data layer: every bad column, file or target names itself.

Shared by :mod:`benchmark.data.build` and :mod:`benchmark.data.loaders` so that a message has
one shape wherever the bad input was found.
"""

from __future__ import annotations

from typing import Any

from benchmark.errors import InputError


def preview(items: Any, limit: int = 20) -> str:
    """``'a', 'b', ... (N more)`` — a one-line, truncated list."""
    items = [str(i) for i in items]
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def input_error(message: str, field: str | None = None) -> InputError:
    """An InputError with the message forced onto one line; ``field`` is the task field to blame."""
    return InputError(message.replace("\r\n", " ").replace("\n", " ").replace("\r", " "), where=field)
