"""The report's figures as standalone files for a paper: SVG and PDF, fonts embedded, column sizes.

The figures are drawn by :mod:`benchmark.report.figures` and :mod:`benchmark.report.cd_diagram`
(the very functions the HTML report calls, captured as Matplotlib figures instead of inline SVG),
then resized to a paper column (3.5 in, or 7.0 in across both columns for wide figures) and saved
with the fonts embedded: TrueType subsets in the PDF (``pdf.fonttype = 42``), glyphs as paths
in the SVG (``svg.fonttype = "path"``), so neither depends on the reader's fonts.  Dates are left
out of the files, so exporting the same run twice gives the same bytes.

:data:`FIGURES` lists what is exported; a figure the report gains (the trade-off plot, say) is one
more entry there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from benchmark.export.latex import slug
from benchmark.metrics import greater_is_better
from benchmark.report import figures as rf
from benchmark.report.analysis import Analysis
from benchmark.report.palette import Style
from benchmark.report.palette import styles as make_styles

log = logging.getLogger(__name__)
Styles = Mapping[str, Style]

SINGLE_COLUMN_IN = 3.5
DOUBLE_COLUMN_IN = 7.0
_SAVE_RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "benchmark-export"}
_METADATA = {"svg": {"Date": None, "Creator": None}, "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}}

#: A figure to export: its file stem and a function that draws it with the report's code.
Drawing = tuple[str, Callable[[], Any]]


def _cd(a: Analysis, styles: Styles) -> Iterator[Drawing]:
    if a.rank is not None:
        from benchmark.report.cd_diagram import cd_figure

        colours = {c: s.colour for c, s in styles.items()}
        yield "cd-diagram", lambda: cd_figure(a.rank, colours=colours)


def _learning_summary(a: Analysis, styles: Styles) -> Iterator[Drawing]:
    if not a.lc_summary.empty and a.lc_summary["fraction"].nunique() >= 2:
        yield "learning-summary", lambda: rf.learning_summary_figure(a.lc_summary, styles)


def _budget(a: Analysis, styles: Styles) -> Iterator[Drawing]:
    if not a.budget.empty and a.budget["budget"].nunique() >= 2:
        yield "budget-ranks", lambda: rf.budget_rank_figure(a.budget, styles)


def _per_task(a: Analysis, styles: Styles) -> Iterator[Drawing]:
    for task in a.tasks:
        m = a.metrics.get(task, "")
        gib = greater_is_better(m) if m else True
        lc = a.lc[a.lc["task"] == task] if not a.lc.empty else a.lc
        if not lc.empty and lc["fraction"].nunique() >= 2:
            yield f"learning-curves-{slug(task)}", lambda lc=lc, m=m, gib=gib: rf.learning_curve_figure(lc, styles, metric=m, greater_is_better=gib)
        tc = a.tc[a.tc["task"] == task] if not a.tc.empty else a.tc
        if not tc.empty and tc["trial"].max() >= 2:
            yield f"tuning-curves-{slug(task)}", lambda tc=tc, m=m, gib=gib: rf.tuning_curve_figure(tc, styles, metric=m, greater_is_better=gib)
        eh = a.epochs[a.epochs["task"] == task] if not a.epochs.empty and "task" in a.epochs else a.epochs.iloc[0:0]
        if not eh.empty:
            yield f"epochs-{slug(task)}", lambda eh=eh: rf.epoch_figure(eh, styles)


#: What is exported, in order (trade-off plot of the report issue: add its generator here).
def _tradeoff(a: Analysis, styles: Styles) -> Iterator[Drawing]:
    df = a.tradeoff
    if df is not None and len(df):
        yield "tradeoff", lambda: rf.tradeoff_figure(df, styles, score_label=a.tradeoff_label)


FIGURES: list[Callable[[Analysis, Styles], Iterator[Drawing]]] = [_cd, _learning_summary, _budget, _tradeoff, _per_task]


def _draw(make: Callable[[], Any]) -> Any:
    """The Matplotlib figure that ``make`` draws (captured where it would have become inline SVG)."""
    with rf.capture() as sink:
        out = make()
    if not isinstance(out, str):
        return out  # already a Figure (the CD diagram)
    if len(sink) != 1:
        raise RuntimeError(f"expected one figure, the report drew {len(sink)}")
    return sink[0]


def _fit_column(fig: Any) -> None:
    """Resize to one column (narrow figures) or the full text width.  The height is kept (the font
    sizes are, too), so that stacked panels keep room for their labels; at most 9 in."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(SINGLE_COLUMN_IN if w <= 4.5 else DOUBLE_COLUMN_IN, min(h, 9.0))


def write_figures(a: Analysis, out: Path, formats: tuple[str, ...]) -> list[Path]:
    """Draw every figure the run has and save it in each of ``formats`` (``svg``, ``pdf``)."""
    import matplotlib

    styles = make_styles(a.candidates)
    written: list[Path] = []
    for gen in FIGURES:
        for stem, make in gen(a, styles):
            try:
                with matplotlib.rc_context(rf._RC | _SAVE_RC):
                    fig = _draw(make)
                    _fit_column(fig)
                    for fmt in formats:
                        path = out / f"{stem}.{fmt}"
                        tmp = path.with_name(path.name + ".tmp")
                        fig.savefig(tmp, format=fmt, metadata=_METADATA[fmt])
                        tmp.replace(path)
                        written.append(path)
            except Exception as exc:  # one figure that cannot be drawn must not cost the others
                log.warning("figure %s could not be drawn: %s", stem, exc)
    return written
