"""Critical-difference diagram (Demšar 2006, Fig. 1) drawn from a :class:`RankResult`.

The diagram reads only the result object: an axis of average ranks (rank 1 = best, on the left),
the better half of the candidates labelled on the left and the rest on the right, the Nemenyi
critical difference as a bar above the axis, and thick bars joining groups of candidates whose
average ranks are not significantly different (``result.nemenyi.groups``).

matplotlib is imported inside :func:`cd_diagram` so that importing this module stays cheap.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from benchmark.stats import RankResult

# Okabe & Ito (2008) colour-blind-safe palette, black left out (used for lines and text).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
INK = "#222222"
GROUP = "#5b6670"  # the bars joining candidates that are not significantly different
_COUNTER = itertools.count(1)
FONT_SIZE = 9.0
ROW_IN = 0.24  # vertical space per label row, inches
GROUP_IN = 0.13  # vertical space per group bar, inches
CHAR_IN = 0.075  # rough width of one character at FONT_SIZE, inches


def _layout(result: RankResult, title: str | None) -> dict[str, float]:
    k = len(result.mean_ranks)
    longest = max(len(_label(c, r)) for c, r in result.mean_ranks.items())
    axis_in = max(3.0, 0.55 * (k - 1))
    label_in = longest * CHAR_IN + 0.35
    top = 0.35 if title else 0.0
    axis_y = top + 0.62
    groups_y = axis_y + 0.18
    rows_y = groups_y + GROUP_IN * len(result.nemenyi.groups) + 0.12
    n_rows = math.ceil(k / 2)
    return {
        "k": float(k), "width": axis_in + 2 * label_in, "height": rows_y + n_rows * ROW_IN + 0.1,
        "unit": (k - 1) / axis_in, "label_in": label_in, "top": top, "axis_y": axis_y,
        "groups_y": groups_y, "rows_y": rows_y,
    }


def _label(name: str, rank: float) -> str:
    return f"{name} ({rank:.2f})"


def _draw_axis(ax: Any, lay: dict[str, float]) -> None:
    k, y = int(lay["k"]), lay["axis_y"]
    ax.plot([1, k], [y, y], color=INK, lw=1.0, solid_capstyle="butt")
    for i in range(1, k + 1):
        ax.plot([i, i], [y, y - 0.08], color=INK, lw=1.0)
        ax.text(i, y - 0.12, str(i), ha="center", va="bottom", fontsize=FONT_SIZE - 1,
                color=INK, parse_math=False)
        if i < k:
            ax.plot([i + 0.5, i + 0.5], [y, y - 0.04], color=INK, lw=0.8)


def _draw_cd(ax: Any, result: RankResult, lay: dict[str, float]) -> None:
    cd, k = result.nemenyi.cd, lay["k"]
    y = lay["top"] + 0.22
    end = min(1 + cd, k)
    ax.plot([1, end], [y, y], color=INK, lw=1.4, solid_capstyle="butt")
    for x in (1, end):
        ax.plot([x, x], [y - 0.05, y + 0.05], color=INK, lw=1.0)
    ax.text((1 + end) / 2, y - 0.07, f"CD = {cd:.2f} (Nemenyi, \u03b1 = {result.alpha:g})",
            ha="center", va="bottom", fontsize=FONT_SIZE - 1, color=INK, parse_math=False)


def _draw_candidates(ax: Any, result: RankResult, lay: dict[str, float], colours: Mapping[str, str]) -> None:
    items = list(result.mean_ranks.items())  # best first
    k, u = int(lay["k"]), lay["unit"]
    half = math.ceil(k / 2)
    left, right = items[:half], items[half:][::-1]
    for side, group in (("left", left), ("right", right)):
        end = 1 - 0.12 * u if side == "left" else k + 0.12 * u
        for i, (name, r) in enumerate(group):
            y = lay["rows_y"] + (i + 0.5) * ROW_IN
            colour = colours.get(name, INK)
            ax.plot([r, r, end], [lay["axis_y"], y, y], color=colour, lw=1.1)
            ax.plot([r], [lay["axis_y"]], marker="o", ms=3.5, color=colour)
            pad = -0.06 * u if side == "left" else 0.06 * u
            ax.text(end + pad, y, _label(name, r), ha="right" if side == "left" else "left",
                    va="center", fontsize=FONT_SIZE, color=INK, parse_math=False)


def _draw_groups(ax: Any, result: RankResult, lay: dict[str, float]) -> None:
    u = lay["unit"]
    for g, members in enumerate(result.nemenyi.groups):
        ranks = [result.mean_ranks[c] for c in members]
        y = lay["groups_y"] + g * GROUP_IN
        ax.plot([min(ranks) - 0.05 * u, max(ranks) + 0.05 * u], [y, y],
                color=GROUP, lw=3.0, solid_capstyle="round")


def _to_svg(fig: Figure) -> str:
    import matplotlib

    from benchmark.report.figures import clean_svg

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cd-diagram", "font.family": "sans-serif"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return clean_svg(buf.getvalue(), prefix=f"cd{next(_COUNTER)}-")


def cd_diagram(result: RankResult, *, title: str | None = None, colours: Mapping[str, str] | None = None) -> str:
    """Draw the critical-difference diagram of ``result``; returns an inline SVG string.

    The SVG has no XML prologue, DOCTYPE or metadata (ready to paste into HTML), keeps text as
    ``<text>`` (``svg.fonttype = "none"``) and references nothing external.  Layout: average
    ranks on a horizontal axis (1 = best, left), the Nemenyi CD bar above it, grey bars joining
    groups not significantly different, candidates labelled ``name (rank)`` on both sides, each
    drawn in its colour from ``colours`` (candidate → hex; default: ink).
    """
    return _to_svg(cd_figure(result, title=title, colours=colours))


def cd_figure(result: RankResult, *, title: str | None = None, colours: Mapping[str, str] | None = None) -> Figure:
    """The same diagram as a ``matplotlib.figure.Figure`` (no pyplot, no global state)."""
    from matplotlib.figure import Figure

    lay = _layout(result, title)
    fig = Figure(figsize=(lay["width"], lay["height"]))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(1 - lay["label_in"] * lay["unit"], lay["k"] + lay["label_in"] * lay["unit"])
    ax.set_ylim(lay["height"], 0.0)
    ax.set_axis_off()
    if title:
        ax.text((1 + lay["k"]) / 2, 0.22, title, ha="center", va="center",
                fontsize=FONT_SIZE + 2, color=INK, parse_math=False)
    _draw_cd(ax, result, lay)
    _draw_axis(ax, lay)
    _draw_groups(ax, result, lay)
    _draw_candidates(ax, result, lay, colours or {})
    return fig
