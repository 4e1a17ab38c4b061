"""One look per candidate, the same in every figure and table of a report.

Colours: Okabe & Ito (2008), readable with the common colour-vision deficiencies, without its
yellow (too faint on white), then Paul Tol's "muted" scheme for candidates eight and on, then
eight darker or warmer colours picked greedily to stay farthest (CIELAB) from those before, and
the yellow last: 24 colours at least 14 ΔE*ab apart (tests/test_report.py checks it). Every candidate also gets its own marker, so lines stay distinguishable in
grey print and where two colours are hard to tell apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
TOL_MUTED = ("#882255", "#999933", "#332288", "#44AA99", "#AA4499", "#117733", "#88CCEE", "#DDCC77")
EXTRA = ("#543005", "#666666", "#FB8072", "#EE3377", "#D62728", "#66A61E", "#40004B", "#01665E")
COLOURS = OKABE_ITO + TOL_MUTED[:-1] + EXTRA + (TOL_MUTED[-1], "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "*", "d", "8")
INK = "#222222"
MUTED = "#6b7680"


@dataclass(frozen=True)
class Style:
    """How one candidate is drawn: ``colour`` (hex), ``marker`` (matplotlib) and ``dash`` (line style)."""

    colour: str
    marker: str
    dash: str


def styles(candidates: Sequence[str]) -> dict[str, Style]:
    """Candidate → Style, by position in ``candidates`` (the suite's order, so it is stable across figures).

    Past ``len(COLOURS)`` candidates colours repeat with a dashed line.
    """
    out = {}
    for i, name in enumerate(candidates):
        cycle = i // len(COLOURS)
        out[name] = Style(COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)], "-" if cycle == 0 else ("--" if cycle == 1 else ":"))
    return out
