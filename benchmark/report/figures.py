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

from benchmark.metrics import value_range
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


def _band(ax: Any, x: Any, mean: Any, sd: Any, colour: str, alpha: float = 0.12, *, bounds: tuple[float, float] = (-np.inf, np.inf)) -> None:
    """A ±1 sd band, clipped to the values the metric can take (``bounds``, e.g. AUC ≤ 1)."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    ok = np.isfinite(mean) & np.isfinite(sd)
    if ok.sum() >= 2:
        lo, hi = np.clip((mean - sd)[ok], *bounds), np.clip((mean + sd)[ok], *bounds)
        ax.fill_between(np.asarray(x, dtype=float)[ok], lo, hi, color=colour, alpha=alpha, linewidth=0)


#: Line charts draw this many candidates in colour (the best at the end); the others are thin grey lines.
TOP_K = 8
OTHERS = "#b8c0c8"


def _highlighted(order: Sequence[str]) -> set[str]:
    """The candidates drawn in colour: all of them up to TOP_K + 1, else the best TOP_K."""
    return set(order) if len(order) <= TOP_K + 1 else set(order[:TOP_K])


def _others_handle(n: int) -> tuple[Any, str]:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=OTHERS, linewidth=0.9), f"{n} others (grey; each in the table)"


def _scale_note(values: Sequence[float], lims: tuple[float, float] | None, final: float) -> str:
    """What a legend says about a line the axis does not show entirely (empty when it does)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if lims is None or not len(v):
        return ""
    inside = (v >= lims[0]) & (v <= lims[1])
    if inside.all():
        return ""
    where = "below" if (v < lims[0]).any() else "above"
    return f" (off scale: {final:.3g})" if not inside.any() else f" (partly {where} the axis; {final:.3g} at the end)"


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
        _band(ax, x, d["test_mean"], d["test_sd"], st.colour, alpha=0.18, bounds=value_range(metric))
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
    hi = _highlighted(order)
    on_vals = [v for c in order if c not in off for v in summary.loc[summary["candidate"] == c, "mean"]]
    _fraction_axis(ax, summary["fraction"].unique())
    lims = _limits(on_vals)
    if lims:
        lims = (lims[0], min(1.02, lims[1]))
        ax.set_ylim(*lims)
    handles, labels = [], []
    for c in reversed(order):  # the best drawn last, on top
        d = summary[summary["candidate"] == c].sort_values("fraction")
        st = styles[c]
        if c not in hi:
            ax.plot(d["fraction"], d["mean"], color=OTHERS, linewidth=0.9, zorder=1)
            continue
        (h,) = ax.plot(d["fraction"], d["mean"], color=st.colour, marker=st.marker, linestyle=st.dash, markersize=3.5, zorder=3)
        handles.insert(0, h)
        labels.insert(0, _label(c) + _scale_note(list(d["mean"]), lims, float(last.get(c, math.nan))))
    if len(hi) < len(order):
        h, lab = _others_handle(len(order) - len(hi))
        handles.append(h)
        labels.append(lab)
    ax.set_xlabel("% of the outer training rows")
    ax.set_ylabel("normalised test score")
    _legend_right(fig, ax, handles, labels, title="at 100 %,\nbest first")
    return to_svg(fig)


# ---------------------------------------------------------------------------------------------
# tuning curves


@_with_rc
def tuning_curve_figure(tc: pd.DataFrame, styles: Mapping[str, Style], *, metric: str, greater_is_better: bool) -> str:
    """Two panels: best-so-far inner validation score vs trials in the order run (the first trial, trial 0, = the
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
    hi = _highlighted(order)
    titles = ("in the order run (first trial = defaults)", "random trial order (mean of 20 shuffles)")
    for panel, (ax, col, title) in enumerate(zip(axes, ("mean", "shuffled_mean"), titles, strict=True)):
        _style_axes(ax)
        on_vals = [v for c in order if c not in off for v in tc.loc[tc["candidate"] == c, col]]
        lims = _limits(on_vals)
        if lims:
            ax.set_ylim(*lims)
        for c in reversed(order):  # the best drawn last, on top
            d = tc[tc["candidate"] == c].sort_values("trial")
            st = styles[c]
            if c not in hi:
                ax.plot(d["trial"], d[col], color=OTHERS, linewidth=0.9, zorder=1)
                continue
            every = max(1, len(d) // 8)
            if panel == 0:
                _band(ax, d["trial"], d["mean"], d["sd"], st.colour, alpha=0.07, bounds=value_range(metric))
            (h,) = ax.plot(d["trial"], d[col], color=st.colour, marker=st.marker, markevery=every, linestyle=st.dash, markersize=3, zorder=3)
            handles[c] = h
            note = _scale_note(list(d[col]), lims, final[c]) if finite(final.get(c)) else ""
            labels[c] = labels.get(c) or note  # the first panel's note about the axis, else the second's
        ax.set_title(title, fontsize=FONT, loc="left", pad=3)
        ax.set_xlabel("trials")
        if n_trials > 20:
            ax.set_xscale("log")
        else:
            ax.set_xticks(range(1, n_trials + 1, max(1, n_trials // 10)))
    axes[0].set_ylabel(f"best inner {_label(metric)}\n({'higher' if greater_is_better else 'lower'} is better)")
    shown = [c for c in order if c in hi]
    hs, ls = [handles[c] for c in shown], [_label(c) + labels[c] for c in shown]
    if len(shown) < len(order):
        h, lab = _others_handle(len(order) - len(shown))
        hs.append(h)
        ls.append(lab)
    fig.legend(hs, ls, loc="outside right upper", title="at full budget,\nbest first", handlelength=2.2, labelspacing=0.35)
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
    handles, labels = [], []
    hi = _highlighted(order)
    for c in reversed(order):
        d = br[br["candidate"] == c].sort_values("budget")
        st = styles[c]
        if c not in hi:
            ax.plot(d["budget"], d["mean_rank"], color=OTHERS, linewidth=0.9, zorder=1)
            continue
        (h,) = ax.plot(d["budget"], d["mean_rank"], color=st.colour, marker=st.marker, linestyle=st.dash, markersize=3.5, zorder=3)
        handles.insert(0, h)
        labels.insert(0, _label(c))
    if len(hi) < len(order):
        h, lab = _others_handle(len(order) - len(hi))
        handles.append(h)
        labels.append(lab)
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
    _legend_right(fig, ax, handles, labels, title="at full budget,\nbest first")
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


# ---------------------------------------------------------------------------------------------
# accuracy against cost


@_with_rc
def tradeoff_figure(df: pd.DataFrame, styles: Mapping[str, Style], *, score_label: str) -> str:
    """Two panels: score against training seconds and against prediction ms per 1,000 rows (log
    x), one marker per candidate, the Pareto front ringed and joined by a step line."""
    from matplotlib.lines import Line2D

    fig = _figure(9.2, 3.3, constrained=True)
    axes = fig.subplots(1, 2, sharey=True)
    scores = dict(zip(df["candidate"], df["score"].astype(float), strict=True))
    off = offscale(scores, greater_is_better=True)  # e.g. the dummy, far below: drawn on the axis' floor, its score written
    lims = _limits([v for c, v in scores.items() if c not in off])
    df = df.assign(shown=[lims[0] if (c in off and lims) else v for c, v in scores.items()])
    panels = (("train_seconds", "pareto_train", "final refit, median seconds (log)"),
              ("predict_ms_per_1k", "pareto_predict", "prediction, median ms per 1,000 rows (log)"))
    for ax, (col, flag, xlabel) in zip(axes, panels, strict=True):
        _style_axes(ax)
        d = df[np.isfinite(df[col].astype(float)) & np.isfinite(df["score"].astype(float)) & (df[col].astype(float) > 0)]
        for r in d.itertuples():
            st = styles.get(r.candidate)
            colour, marker = (st.colour, st.marker) if st else (INK, "o")
            low = r.candidate in off
            ax.plot([getattr(r, col)], [r.shown], marker="v" if low else marker, color=colour, markersize=6 if getattr(r, flag) else 4.5, linestyle="none",
                    markeredgecolor=INK if getattr(r, flag) else "white", markeredgewidth=1.0 if getattr(r, flag) else 0.4, zorder=3, clip_on=False)
            if getattr(r, flag) or low:
                text = _label(r.candidate) + (f" ↓ {r.score:.3g} (off scale)" if low else "")
                ax.annotate(text, (getattr(r, col), r.shown), xytext=(4, 3), textcoords="offset points", fontsize=FONT - 1.5, color=INK)
        front = d[d[flag] & ~d["candidate"].isin(off)].sort_values(col)
        if len(front) > 1:
            ax.step(front[col], front["score"], where="post", color=MUTED, linewidth=0.8, linestyle=(0, (2, 2)), zorder=2)
        if lims:
            ax.set_ylim(*lims)
        if len(d):
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel(f"{_label(score_label)} (higher is better)")
    cands = [c for c in styles if c in set(df["candidate"])]
    handles = [Line2D([], [], marker=styles[c].marker, color=styles[c].colour, linestyle="none", markersize=4.5) for c in cands]
    fig.legend(handles, [_label(c) for c in cands], loc="outside right upper", labelspacing=0.3, handletextpad=0.3)
    return to_svg(fig)
