"""Run history for CI: keep runs by commit, draw per-candidate score and time trends.

A history file is JSON lines: each line is one run in the baseline format of
:mod:`benchmark.ci.baseline` (``{"format": "bench-baseline", "version": 1, "meta": {...,
"git_commit": ..., "label": ...}, "tasks": {...}, "rows": [...]}``), appended by
:func:`append` (``bench history append RUN_DIR --file F``).  :func:`load_history` reads history
files, baseline files and run directories alike; :func:`build_history` orders the runs by
the time they were appended (run directories: by creation time), keeps the newest run per commit, and compares each run with the one before it
using :func:`benchmark.ci.rule.compare` (same rule as ``bench regress``), so the page marks the
commits where a significant change happened; runs that are not comparable (data or splits
changed) start a new segment.  :func:`render_page` draws one self-contained HTML page (inline
SVG from matplotlib, text kept as text, no external URL, every name HTML-escaped); escaping, the
candidate colours and the SVG clean-up are the report's (:mod:`benchmark.report`).
"""

from __future__ import annotations

import io
import json
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.ci.baseline import snapshot_from_dict
from benchmark.ci.compatible import check_comparable
from benchmark.ci.result import RegressionResult
from benchmark.ci.rule import Options, compare
from benchmark.ci.snapshot import Snapshot, snapshot_from_run
from benchmark.errors import InputError
from benchmark.report.figures import strip_prologue
from benchmark.report.markup import esc
from benchmark.report.palette import COLOURS, OKABE_ITO
from benchmark.serialize import write_text_atomic

# The report's Okabe & Ito colours with their yellow (COLOURS[-1]) before the black, the order this page has always used.
PALETTE = (*OKABE_ITO[:-1], COLOURS[-1], OKABE_ITO[-1])
BAD, GOOD, WARN = "#C0392B", "#1E8449", "#9A6700"


# --------------------------------------------------------------------------------------------
# The history file
# --------------------------------------------------------------------------------------------


def append(run_dir: str | Path, file: str | Path, *, commit: str | None = None, label: str | None = None,
           keep: int | None = None) -> int:
    """Append the run in ``run_dir`` to the history ``file`` (created if missing); return the
    number of runs the file holds.  ``commit`` overrides the run's git commit (e.g. $GITHUB_SHA),
    ``label`` names the run (branch, PR); ``keep`` keeps only the newest ``keep`` lines."""
    snap = snapshot_from_run(run_dir).with_meta(git_commit=commit, label=label,
                                                appended=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    line = json.dumps(snap.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
    path = Path(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = _lines(path) if path.is_file() else []
    if keep is not None and len(lines) + 1 > keep:
        kept = [*lines[len(lines) + 1 - keep:], line]
        write_text_atomic(path, "".join(kept))
        return len(kept)
    with path.open("a", encoding="utf-8") as fh:
        if lines and not lines[-1].endswith("\n"):
            fh.write("\n")
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    return len(lines) + 1


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines(keepends=True) if ln.strip()]


def _read_file(path: Path) -> list[Snapshot]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc}); give a history file, a baseline file or a run directory") from None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [snapshot_from_dict(whole, where=str(path))]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: not valid JSON ({exc.msg}); remove or repair the line") from None
        out.append(snapshot_from_dict(data, where=f"{path}: line {n}"))
    if not out:
        raise InputError(f"{path}: history file is empty; add runs with `bench history append RUN_DIR --file {path}`")
    return out


def load_history(sources: Sequence[str | Path]) -> list[Snapshot]:
    """Read history files (JSON lines), baseline files and run directories, in the order given."""
    out: list[Snapshot] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            out.append(snapshot_from_run(p))
        elif p.is_file():
            out.extend(_read_file(p))
        else:
            raise InputError(f"{src}: no such file or directory; give history files, baseline files or run directories")
    return out


# --------------------------------------------------------------------------------------------
# Trends and changes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """The comparison of run ``index`` with run ``index - 1``: a result, or why there is none."""

    index: int
    result: RegressionResult | None
    incomparable: str | None = None


@dataclass(frozen=True)
class History:
    """Runs in order (oldest first), one per commit, and the step from each run to the next.

    ``runs``: snapshots; ``labels``: one short x-axis label per run (commit[:7], label or date);
    ``steps``: ``steps[i]`` compares run i with run i - 1 (``steps[0]`` has neither);
    ``superseded``: how many older runs of an already present commit were dropped.
    """

    runs: tuple[Snapshot, ...]
    labels: tuple[str, ...]
    steps: tuple[Step, ...]
    options: Options
    superseded: int = 0

    def tasks(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.runs:
            seen.update(dict.fromkeys(r.tasks))
        return list(seen)

    def candidates(self, task: str) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.runs:
            seen.update(dict.fromkeys(c for c in r.candidates() if any(row["task"] == task and row["candidate"] == c for row in r.rows)))
        return list(seen)

    def metric(self, task: str) -> str:
        if self.options.metric:
            return self.options.metric
        for r in reversed(self.runs):
            if task in r.tasks and r.tasks[task].get("metric"):
                return str(r.tasks[task]["metric"])
        return ""

    def series(self, task: str, candidate: str) -> dict[str, list[float]]:
        """Per run: ``mean``/``std`` of the ok folds' score and ``time`` (median of the options'
        ``time_field``, CPU seconds by default); NaN if absent."""
        metric = self.metric(task)
        out: dict[str, list[float]] = {"mean": [], "std": [], "time": []}
        for r in self.runs:
            rows = [x for x in r.rows if x["task"] == task and x["candidate"] == candidate and x.get("state") == "ok"]
            vals = [float(v) for x in rows if isinstance(v := x.get("scores", {}).get(metric), (int, float)) and math.isfinite(v)]
            fits = [float(v) for x in rows if isinstance(v := x.get(self.options.time_field), (int, float)) and math.isfinite(v)]
            out["mean"].append(statistics.fmean(vals) if vals else math.nan)
            out["std"].append(statistics.stdev(vals) if len(vals) > 1 else 0.0 if vals else math.nan)
            out["time"].append(statistics.median(fits) if fits else math.nan)
        return out

    def breaks(self) -> list[int]:
        """Run indices that are not comparable with the run before them."""
        return [s.index for s in self.steps if s.incomparable]

    def marks(self, task: str, candidate: str) -> list[tuple[int, str, str]]:
        """(run index, kind score|time|failure|missing, status regression|improvement|warning) marks."""
        out = []
        for s in self.steps:
            if s.result is None:
                continue
            for f in s.result.findings:
                if f.task == task and f.candidate in (candidate, None) and f.status in ("regression", "improvement", "warning"):
                    out.append((s.index, f.kind, f.status))
        return out

    def changes(self) -> list[tuple[Step, Any]]:
        """Every significant finding (regression, improvement, warning) with its step, newest first."""
        out = []
        for s in reversed(self.steps):
            if s.result is not None:
                out.extend((s, f) for f in s.result.findings if f.status in ("regression", "improvement", "warning"))
        return out


def _sort_key(snap: Snapshot) -> str:
    """When the run joined the history (``appended``), else when it was created."""
    return str(snap.meta.get("appended") or snap.meta.get("created") or "")


def _label(snap: Snapshot) -> str:
    commit = str(snap.commit or "")
    label = snap.meta.get("label")
    base = commit[:7] + ("+" if commit.endswith("+dirty") else "") if commit else str(snap.created)[:16] or "?"
    return f"{base} {label}" if label else base


def build_history(runs: Sequence[Snapshot], options: Options | None = None) -> History:
    """Order runs by the time they were appended (run directories: created), keep the newest per commit, compare each with its predecessor."""
    opts = options or Options()
    if not runs:
        raise InputError("no runs to show; give a history file or run directories")
    ordered = sorted(runs, key=_sort_key)  # stable: file order breaks ties
    latest: dict[str, int] = {}
    for i, r in enumerate(ordered):
        if r.commit:
            latest[str(r.commit)] = i
    kept = [r for i, r in enumerate(ordered) if not r.commit or latest[str(r.commit)] == i]
    steps = [Step(0, None)]
    for i in range(1, len(kept)):
        blocking, _ = check_comparable(kept[i - 1], kept[i])
        steps.append(Step(i, None, "; ".join(blocking)) if blocking else Step(i, compare(kept[i - 1], kept[i], opts)))
    return History(tuple(kept), tuple(_label(r) for r in kept), tuple(steps), opts, len(ordered) - len(kept))


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #d8dee4;padding-bottom:4px}
.muted{color:#5b6670}table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #d8dee4;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f4f6f8}
td.regression{color:#C0392B;font-weight:600}td.improvement{color:#1E8449;font-weight:600}td.warning{color:#9A6700}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}.figure svg{max-width:100%;height:auto}
"""


def _segments(n: int, breaks: Sequence[int]) -> list[tuple[int, int]]:
    cuts = [0, *sorted(b for b in breaks if 0 < b < n), n]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def task_figure(hist: History, task: str) -> Any:
    """A ``matplotlib.figure.Figure`` (no pyplot): per candidate, test score (mean ± std over
    folds) and median job time (``options.time_field``) across runs; significant changes circled, breaks dotted."""
    import matplotlib
    from matplotlib.figure import Figure

    n = len(hist.runs)
    x = list(range(n))
    cands = hist.candidates(task)
    fig = Figure(figsize=(12.5, 3.8), layout="constrained")
    ax_s, ax_t = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    segs = _segments(n, hist.breaks())
    with matplotlib.rc_context({"text.parse_math": False}):
        for k, cand in enumerate(cands):
            color = PALETTE[k % len(PALETTE)]
            s = hist.series(task, cand)
            for a, b in segs:
                xs = x[a:b]
                ax_s.plot(xs, s["mean"][a:b], "-o", color=color, ms=3.5, lw=1.4, label=cand if a == 0 else None)
                lo = [m - d for m, d in zip(s["mean"][a:b], s["std"][a:b], strict=True)]
                hi = [m + d for m, d in zip(s["mean"][a:b], s["std"][a:b], strict=True)]
                ax_s.fill_between(xs, lo, hi, color=color, alpha=0.12, lw=0)
                ax_t.plot(xs, s["time"][a:b], "-o", color=color, ms=3.5, lw=1.4)
            for i, kind, status in hist.marks(task, cand):
                ax = ax_t if kind == "time" else ax_s
                y = (s["time"] if kind == "time" else s["mean"])[i]
                if not math.isfinite(y):
                    continue
                marker = "v" if status in ("regression", "warning") else "^"
                edge = BAD if status == "regression" else GOOD if status == "improvement" else WARN
                ax.plot([i], [y], marker=marker, ms=11, mfc="none", mec=edge, mew=2.0, ls="none")
        for b in hist.breaks():
            for ax in (ax_s, ax_t):
                ax.axvline(b - 0.5, color="#888888", ls=":", lw=1.2)
        ax_s.set_title(f"{task}: test {hist.metric(task)} (mean ± std over folds)", fontsize=10)
        ax_t.set_title(f"{task}: median {hist.options.time_field}", fontsize=10)
        positive = [v for c in cands for v in hist.series(task, c)["time"] if math.isfinite(v) and v > 0]
        if positive and max(positive) / min(positive) > 20:
            ax_t.set_yscale("log")
        step = max(1, math.ceil(n / 25))
        for ax in (ax_s, ax_t):
            ax.set_xticks(x[::step])
            ax.set_xticklabels(list(hist.labels)[::step], rotation=45 if n > 5 else 0, ha="right" if n > 5 else "center", fontsize=8)
            ax.set_xlim(-0.5, max(n - 0.5, 0.5))
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
        if cands:
            fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    return fig


def to_svg(fig: Any, *, salt: str) -> str:
    """Inline SVG of ``fig``: text kept as text, no prologue/DOCTYPE/metadata, ids salted per figure."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return strip_prologue(buf.getvalue()).strip()


def _runs_table(hist: History) -> str:
    rows = []
    for i, r in enumerate(hist.runs):
        s = hist.steps[i]
        if i == 0:
            vs = "first run"
        elif s.incomparable:
            vs = f"not comparable: {s.incomparable}"
        else:
            res = s.result
            vs = f"{len(res.regressions)} regression(s), {len(res.improvements)} improvement(s)" if res else ""
        rows.append(f"<tr><td>{i}</td><td class=\"mono\">{esc(r.commit or '–')}</td><td>{esc(r.meta.get('label') or '')}</td>"
                    f"<td>{esc(r.created)}</td><td>{esc(r.suite_name)}</td><td>{esc(vs)}</td></tr>")
    return ("<table><thead><tr><th>#</th><th>commit</th><th>label</th><th>created</th><th>suite</th><th>vs. previous</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _changes_table(hist: History) -> str:
    changes = hist.changes()
    if not changes:
        return "<p>No significant change between consecutive comparable runs.</p>"
    rows = []
    for step, f in changes:
        rows.append(f"<tr><td class=\"mono\">{esc(hist.labels[step.index])}</td><td class=\"mono\">{esc(hist.labels[step.index - 1])}</td>"
                    f"<td>{esc(f.task)}</td><td>{esc(f.candidate or '')}</td><td>{esc(f.kind)}</td>"
                    f"<td class=\"{esc(f.status)}\">{esc(f.status)}</td><td>{esc(f.message)}</td></tr>")
    return ("<table><thead><tr><th>run</th><th>vs.</th><th>task</th><th>candidate</th><th>what</th><th>status</th><th>details</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render_page(hist: History, *, title: str = "Benchmark history") -> str:
    """One self-contained HTML page: runs, significant changes, one figure per task."""
    first, last = hist.runs[0], hist.runs[-1]
    o = hist.options
    rule = (f"Each run is compared with the previous one by the rule of <code>bench regress</code>: a change larger than the tolerance "
            f"and significant (one-sided corrected t-test on paired folds, Holm, α = {o.alpha:g}); median {o.time_field} × {o.time_ratio:g} and "
            f"+{o.time_floor:g} s. Circled triangles mark significant changes (red ▼ worse, green ▲ better, amber ▼ slower on "
            "a different machine); dotted lines separate runs that are not comparable (data, splits or protocol changed).")
    sup = f" {hist.superseded} older run(s) of a repeated commit were superseded by the newest." if hist.superseded else ""
    figs = []
    for k, task in enumerate(hist.tasks()):
        try:
            svg = to_svg(task_figure(hist, task), salt=f"history-{k}")
        except Exception as exc:  # a figure that cannot be drawn must not lose the page
            svg = f"<p>figure could not be drawn: {esc(exc)}</p>"
        figs.append(f"<h2 id=\"task-{k}\">{esc(task)}</h2><div class=\"figure\">{svg}</div>")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"muted\">{len(hist.runs)} run(s), from {esc(_label(first))} ({esc(first.created)}) "
            f"to {esc(_label(last))} ({esc(last.created)}).{esc(sup)}</p><p class=\"muted\">{rule}</p>"
            f"<h2>Significant changes</h2>{_changes_table(hist)}" + "".join(figs) + f"<h2>Runs</h2>{_runs_table(hist)}</body></html>\n")


def write_page(sources: Sequence[str | Path], out: str | Path, *, options: Options | None = None) -> Path:
    """Read ``sources``, build the history and write the HTML page to ``out``; returns the path."""
    hist = build_history(load_history(sources), options)
    path = Path(out)
    if path.is_dir():
        raise InputError(f"--out {out}: is a folder; give a file name such as {path / 'history.html'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, render_page(hist))
