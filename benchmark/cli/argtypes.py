"""Argument types for the command line: parse a number and check its range in one line.

``argparse`` prints an ``ArgumentTypeError`` as ``argument --x: <message>`` and exits with 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def bounded(kind: type, ok: Callable[[float], bool], rule: str) -> Callable[[str], float]:
    """A ``type=`` for argparse: ``kind(text)`` that must satisfy ``ok``.

    ``rule`` is the error message when it does not; ``{value}`` and ``{text}`` are filled in.
    """

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            msg = f"must be a whole number (got {text!r})" if kind is int else f"not a number: {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if not ok(value):
            raise argparse.ArgumentTypeError(rule.format(value=value, text=text))
        return value

    return parse


positive_int = bounded(int, lambda v: v >= 1, "must be ≥ 1 (got {value})")
seed = bounded(int, lambda v: 0 <= v < 2**32, "must be in 0 .. 2**32-1")
fraction = bounded(float, lambda v: 0.0 < v < 1.0, "must lie strictly between 0 and 1 (got {text})")
