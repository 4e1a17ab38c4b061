"""The report's figures: Matplotlib (object API, no pyplot) rendered to small inline SVG.

Every function takes tidy frames from :mod:`benchmark.report.curves` and the candidate styles from
:mod:`benchmark.report.palette`, and returns an SVG string ready to paste into HTML: no XML
prologue or metadata, text kept as ``<text>`` (so names stay searchable and crisp), element ids
prefixed per figure (several SVGs share one page) and unreferenced ids dropped.  Names are
never interpreted as mathtext and Matplotlib escapes them in the SVG.

Matplotlib is imported inside the functions so importing the report stays cheap.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.markup import finite
from benchmark.report.palette import INK, MUTED, Style

FONT = 8.5
_COUNTER = itertools.count(1)
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "benchmark-report",
    "font.size": FONT,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#555555",
    "axes.labelcolor": INK,
    "axes.titlesize": FONT + 0.5,
    "axes.titleweight": "normal",
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.labelsize": FONT - 1,
    "ytick.labelsize": FONT - 1,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.fontsize": FONT - 0.5,
    "legend.frameon": False,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,
    "lines.linewidth": 1.4,
    "lines.markersize": 3.5,
}


def _label(name: Any) -> str:
    """A name safe from mathtext in legends (``$`` would start a formula)."""
    return str(name).replace("$", r"\$")


#: While :func:`capture` is active, every figure made by this module is handed to its list instead of
#: being rendered to inline SVG (``benchmark.export`` saves them as standalone SVG and PDF files).
_SINK: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("figure_sink", default=None)


@contextlib.contextmanager
def capture() -> Iterator[list[Any]]:
    """Collect the Matplotlib ``Figure`` objects that the figure functions draw inside the block."""
    sink: list[Any] = []
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        _SINK.reset(token)


def to_svg(fig: Any) -> str:
    """Render ``fig`` to an inline SVG string (see the module docstring)."""
    import matplotlib

    sink = _SINK.get()
    if sink is not None:  # captured: the caller saves the figure itself
        sink.append(fig)
        return ""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return clean_svg(buf.getvalue(), prefix=f"f{next(_COUNTER)}-")


def _with_rc(fn: Callable[..., str]) -> Callable[..., str]:
    """Run a figure function under the report's Matplotlib style (legends and texts made later need it too)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        import matplotlib

        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def strip_prologue(svg: str) -> str:
    """Matplotlib's SVG without the XML prologue, DOCTYPE and metadata, ready to inline in HTML."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)


def clean_svg(svg: str, *, prefix: str) -> str:
    """Strip prologue/DOCTYPE/metadata/global style; prefix referenced ids, drop the others."""
    svg = strip_prologue(svg)
    svg = re.sub(r'<style type="text/css">.*?</style>\s*', "", svg, flags=re.S)
    used = set(re.findall(r'href="#([^"]+)"', svg)) | set(re.findall(r"url\(#([^)]+)\)", svg))

    def fix_id(m: re.Match[str]) -> str:
        return f' id="{prefix}{m.group(1)}"' if m.group(1) in used else ""

    svg = re.sub(r'\s+id="([^"]+)"', fix_id, svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r"\n\s*", "\n", svg)
    # coordinates to 1/100 pt (a third smaller, invisible); text content is left alone
    svg = re.sub(r'( (?:d|points|transform|x|y|x1|x2|y1|y2|width|height|cx|cy|r|style)=")([^"]*)"',
                 lambda m: m.group(1) + re.sub(r"(\d\.\d\d)\d+", r"\1", m.group(2)) + '"', svg)
    return svg.strip() + "\n"


def _figure(width: float, height: float, *, constrained: bool = False):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained" if constrained else None)


def _panels(fig: Any, nrows: int, ncols: int, n: int) -> list[Any]:
    """A grid of subplots; the first ``n`` axes are returned, the unused ones hidden."""
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def _style_axes(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, color="#e3e7eb", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(length=2.5, pad=2)


def offscale(finals: Mapping[str, float], *, greater_is_better: bool) -> set[str]:
    """Candidates whose final value lies so far below the rest that it would flatten everyone else.

    From the worst up, a candidate is off scale while its gap to the next one exceeds twice the
    spread of the remaining ones; at least half of the candidates (and two) stay on scale.
    """
    vals = {c: (v if greater_is_better else -v) for c, v in finals.items() if v is not None and math.isfinite(v)}
    order = sorted(vals, key=lambda c: vals[c], reverse=True)
    out: set[str] = set()
    keep = max(2, math.ceil(len(order) / 2))
    while len(order) > keep:
        worst, rest = order[-1], order[:-1]
        spread = vals[rest[0]] - vals[rest[-1]]
        gap = vals[rest[-1]] - vals[worst]
        if gap > 2 * max(spread, 1e-12):
            out.add(worst)
            order = rest
        else:
            break
    return out


def _limits(values: Sequence[float], pad: float = 0.06) -> tuple[float, float] | None:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return None
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.05
    return lo - pad * span, hi + pad * span


def _legend_right(fig: Any, ax: Any, handles: list[Any], labels: list[str], *, title: str | None = None) -> None:
    fig.legend(handles, labels, loc="outside right upper", handlelength=2.2, handletextpad=0.5, labelspacing=0.35, title=title)


def _band(ax: Any, x: Any, mean: Any, sd: Any, colour: str, alpha: float = 0.12) -> None:
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    ok = np.isfinite(mean) & np.isfinite(sd)
    if ok.sum() >= 2:
        ax.fill_between(np.asarray(x, dtype=float)[ok], (mean - sd)[ok], (mean + sd)[ok], color=colour, alpha=alpha, linewidth=0)


def _fraction_axis(ax: Any, fractions: Sequence[float]) -> None:
    ax.set_xscale("log")
    fr = sorted(set(fractions))
    ax.set_xticks(fr)
    ax.set_xticklabels([f"{100 * f:g}" for f in fr])
    ax.minorticks_off()
    if fr:
        ax.set_xlim(fr[0] / 1.15, fr[-1] * 1.15)


# ---------------------------------------------------------------------------------------------
# learning curves


@_with_rc
def learning_curve_figure(lc: pd.DataFrame, styles: Mapping[str, Style], *, metric: str, greater_is_better: bool) -> str:
    """Small multiples, one panel per candidate: test score (solid, band = ±1 sd over folds) and
    training score (dashed) against the % of outer training rows, on a shared y-axis.

    ``lc``: rows of :func:`benchmark.report.curves.learning_curves` for one task.  Candidates far below
    the rest get their own y-scale (and say so) so they do not flatten the others.
    """
    from matplotlib.lines import Line2D

    cands = [c for c in styles if c in set(lc["candidate"])]
    n = len(cands)
    ncols = min(5, n)
    nrows = math.ceil(n / ncols)
    fig = _figure(1.75 * ncols + 0.6, 1.45 * nrows + 0.75, constrained=True)
    full = lc[lc["fraction"] == lc["fraction"].max()].set_index("candidate")["test_mean"].to_dict()
    off = offscale({c: full.get(c, math.nan) for c in cands}, greater_is_better=greater_is_better)
    cands = [c for c in cands if c not in off] + [c for c in cands if c in off]  # own-scale panels last
    on = lc[lc["candidate"].isin([c for c in cands if c not in off])]
    lims = _limits(list(on["test_mean"]) + list(on["train_mean"]))
    n_rows_full = lc["n_train"].max()
    for i, (ax, c) in enumerate(zip(_panels(fig, nrows, ncols, n), cands, strict=True)):
        st = styles[c]
        d = lc[lc["candidate"] == c].sort_values("fraction")
        x = d["fraction"].to_numpy(float)
        _style_axes(ax)
        _band(ax, x, d["test_mean"], d["test_sd"], st.colour, alpha=0.18)
        ax.plot(x, d["test_mean"], color=st.colour, marker=st.marker, markersize=3, linewidth=1.4)
        ax.plot(x, d["train_mean"], color=st.colour, linestyle=(0, (3, 2)), linewidth=1.0, alpha=0.9)
        _fraction_axis(ax, lc["fraction"].unique())
        own = c in off
        if lims and not own:
            ax.set_ylim(*lims)
        ax.set_title(_label(c) + (" (own scale)" if own else ""), fontsize=FONT, color=INK if not own else MUTED, pad=3, loc="left")
        failed = int(d["n_failed"].sum()) + int(d["n_skipped"].sum())
        if failed:
            ax.text(0.97, 0.04, f"{failed} not fitted", transform=ax.transAxes, ha="right", va="bottom", fontsize=FONT - 1.5, color=MUTED, parse_math=False)
        if i % ncols and not own and cands[i - 1] not in off:
            ax.tick_params(labelleft=False)  # same scale as its left neighbour
        if i % ncols == 0:
            ax.set_ylabel(f"{_label(metric)} ({'higher' if greater_is_better else 'lower'} is better)", fontsize=FONT - 0.5)
    handles = [Line2D([], [], color=INK, linewidth=1.4, marker="o", markersize=3), Line2D([], [], color=INK, linewidth=1.0, linestyle=(0, (3, 2)))]
    labels = ["outer test fold (band: ±1 sd over folds)", "training rows the model was fitted on"]
    fig.legend(handles, labels, loc="outside upper center", ncols=2, frameon=False)
    xl = "% of the outer training rows" + (f" (100 % ≈ {n_rows_full:.0f} rows)" if np.isfinite(n_rows_full) else "")
    fig.supxlabel(xl, fontsize=FONT)
    return to_svg(fig)


@_with_rc
def learning_summary_figure(summary: pd.DataFrame, styles: Mapping[str, Style]) -> str:
    """The suite in one picture: normalised test score (per task 0 = worst, 1 = best) vs % of training rows."""
    cands = [c for c in styles if c in set(summary["candidate"])]
    last = summary[summary["fraction"] == summary["fraction"].max()].set_index("candidate")["mean"]
    order = sorted(cands, key=lambda c: -float(last.get(c, -1)))
    off = offscale({c: float(last.get(c, math.nan)) for c in cands}, greater_is_better=True)
    fig = _figure(5.6, 3.0, constrained=True)
    ax = fig.subplots()
    _style_axes(ax)
    handles, labels, on_vals = [], [], []
    for c in order:
        d = summary[summary["candidate"] == c].sort_values("fraction")
        st = styles[c]
        (h,) = ax.plot(d["fraction"], d["mean"], color=st.colour, marker=st.marker, linestyle=st.dash, markersize=3.5)
        handles.append(h)
        labels.append(_label(c) + (f" (off scale: {float(last.get(c)):.2f})" if c in off else ""))
        if c not in off:
            on_vals += list(d["mean"])
    _fraction_axis(ax, summary["fraction"].unique())
    lims = _limits(on_vals)
    if lims and off:
        ax.set_ylim(lims[0], min(1.02, lims[1]))
    ax.set_xlabel("% of the outer training rows")
    ax.set_ylabel("normalised test score")
    _legend_right(fig, ax, handles, labels, title="at 100 %,\nbest first")
    return to_svg(fig)


# ---------------------------------------------------------------------------------------------
# tuning curves


@_with_rc
def tuning_curve_figure(tc: pd.DataFrame, styles: Mapping[str, Style], *, metric: str, greater_is_better: bool) -> str:
    """Two panels: best-so-far inner validation score vs trials in the order run (trial 1 = the
    defaults; band = ±1 sd over outer folds) and expected over random trial orders."""
    cands = [c for c in styles if c in set(tc["candidate"])]
    n_trials = int(tc["trial"].max())
    final = tc[tc["trial"] == n_trials].set_index("candidate")["mean"].to_dict()
    off = offscale({c: final.get(c, math.nan) for c in cands}, greater_is_better=greater_is_better)
    sign = 1.0 if greater_is_better else -1.0
    order = sorted(cands, key=lambda c: -sign * final[c] if finite(final.get(c)) else math.inf)
    fig = _figure(9.2, 3.1, constrained=True)
    axes = fig.subplots(1, 2)
    handles, labels = {}, {}
    titles = ("in the order run (trial 1 = defaults)", "random trial order (mean of 20 shuffles)")
    for panel, (ax, col, title) in enumerate(zip(axes, ("mean", "shuffled_mean"), titles, strict=True)):
        _style_axes(ax)
        on_vals: list[float] = []
        for c in order:
            d = tc[tc["candidate"] == c].sort_values("trial")
            st = styles[c]
            every = max(1, len(d) // 8)
            if panel == 0:
                _band(ax, d["trial"], d["mean"], d["sd"], st.colour, alpha=0.05)
            (h,) = ax.plot(d["trial"], d[col], color=st.colour, marker=st.marker, markevery=every, linestyle=st.dash, markersize=3)
            handles[c] = h
            labels[c] = _label(c) + (f" (off scale: {final[c]:.3g})" if c in off else "")
            if c not in off:
                on_vals += list(d[col])
        ax.set_title(title, fontsize=FONT, loc="left", pad=3)
        ax.set_xlabel("trials")
        if n_trials > 20:
            ax.set_xscale("log")
        else:
            ax.set_xticks(range(1, n_trials + 1, max(1, n_trials // 10)))
        lims = _limits(on_vals)
        if lims:
            ax.set_ylim(*lims)
    axes[0].set_ylabel(f"best inner {_label(metric)}\n({'higher' if greater_is_better else 'lower'} is better)")
    fig.legend([handles[c] for c in order], [labels[c] for c in order], loc="outside right upper", title="at full budget,\nbest first",
               handlelength=2.2, labelspacing=0.35)
    return to_svg(fig)


@_with_rc
def budget_rank_figure(br: pd.DataFrame, styles: Mapping[str, Style]) -> str:
    """Mean rank over tasks (1 = best, at the top) against the tuning budget, one line per candidate."""
    cands = [c for c in styles if c in set(br["candidate"])]
    full = br[br["budget"] == br["budget"].max()].set_index("candidate")["mean_rank"]
    order = sorted(cands, key=lambda c: float(full.get(c, math.inf)))
    budgets = sorted(br["budget"].unique())
    fig = _figure(5.6, 3.0, constrained=True)
    ax = fig.subplots()
    _style_axes(ax)
    handles = []
    for c in order:
        d = br[br["candidate"] == c].sort_values("budget")
        st = styles[c]
        (h,) = ax.plot(d["budget"], d["mean_rank"], color=st.colour, marker=st.marker, linestyle=st.dash, markersize=3.5)
        handles.append(h)
    if len(budgets) > 1:
        ax.set_xscale("log")
        ax.set_xlim(budgets[0] / 1.2, budgets[-1] * 1.2)
    ax.set_xticks(budgets)
    ax.set_xticklabels([str(b) for b in budgets])
    ax.minorticks_off()
    k = len(cands)
    ax.set_ylim(k + 0.5, 0.5)
    ax.set_yticks(range(1, k + 1))
    ax.set_xlabel("tuning budget (trials per candidate per outer fold)")
    ax.set_ylabel("mean rank over tasks (1 = best)")
    _legend_right(fig, ax, handles, [_label(c) for c in order], title="at full budget,\nbest first")
    return to_svg(fig)


@_with_rc
def epoch_figure(eh: pd.DataFrame, styles: Mapping[str, Style]) -> str:
    """Small multiples, one panel per candidate: training (dashed) and validation (solid) loss per
    epoch of the final fits, one thin line per outer fold; a dot marks the lowest validation loss
    (the epoch whose weights early stopping keeps)."""
    from matplotlib.lines import Line2D

    cands = [c for c in styles if c in set(eh["candidate"])] + sorted(set(eh["candidate"]) - set(styles))
    n = len(cands)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    fig = _figure(1.9 * ncols + 0.6, 1.5 * nrows + 0.6, constrained=True)
    for i, (ax, c) in enumerate(zip(_panels(fig, nrows, ncols, n), cands, strict=True)):
        colour = styles[c].colour if c in styles else INK
        _style_axes(ax)
        d = eh[eh["candidate"] == c]
        for _, f in d.groupby("fold", sort=True):
            f = f.sort_values("epoch")
            if "train_loss" in f:
                ax.plot(f["epoch"], f["train_loss"], color=colour, linestyle=(0, (3, 2)), linewidth=0.9, alpha=0.8)
            if "valid_loss" in f and f["valid_loss"].notna().any():
                ax.plot(f["epoch"], f["valid_loss"], color=colour, linewidth=1.1)
                best = f.loc[f["valid_loss"].idxmin()]  # early stopping keeps this epoch's weights
                ax.plot([best["epoch"]], [best["valid_loss"]], marker="o", markersize=3.5, color=colour, markeredgecolor="white", markeredgewidth=0.6)
        ax.set_title(_label(c), fontsize=FONT, loc="left", pad=3)
        if i % ncols == 0:
            ax.set_ylabel("loss")
    fig.supxlabel("epoch", fontsize=FONT)
    fig.legend([Line2D([], [], color=INK, linewidth=1.1), Line2D([], [], color=INK, linewidth=0.9, linestyle=(0, (3, 2)))],
               ["validation loss (dot: lowest)", "training loss"], loc="outside upper center", ncols=2, frameon=False)
    return to_svg(fig)
