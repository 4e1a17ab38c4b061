"""``bench rank``: rank candidates across datasets and test the differences.

Input is either

* a scores CSV: the first column names the datasets, every other column is a candidate, one
  aggregated score per cell (an empty cell, ``NA`` or ``NaN`` = no result); or
* a run directory with ``results.csv`` (one row per task × candidate × outer fold, columns
  ``task, candidate, fold, state, test_<metric>``; only ``state == "ok"`` rows count) and
  ``manifest.json`` (``{"suite": {"metric": ...}}``), read through
  :meth:`benchmark.results.table.ResultTable.from_export`.  The score of a (task, candidate) cell
  is the mean of ``test_<metric>`` over its ok folds.

Bad input raises :class:`benchmark.errors.InputError`; :func:`run` prints it as one line
(``bench rank: error: ...``) and returns exit code 2.  :func:`render_text` is the text report
of a :class:`benchmark.stats.RankResult` (``--json`` prints ``RankResult.to_dict()``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.cli import argtypes
from benchmark.errors import InputError

_ALPHA = argtypes.bounded(float, lambda v: 0.0 < v < 1.0, "alpha must lie strictly between 0 and 1, got {text}")

if TYPE_CHECKING:  # pandas is imported lazily so that `bench --help` stays fast
    import pandas as pd

    from benchmark.results.table import ResultTable
    from benchmark.stats import RankResult

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none"})
PROG = "bench rank"


@dataclass(frozen=True)
class Scores:
    """A block of scores (datasets × candidates) and where it came from."""

    block: pd.DataFrame
    source: str
    kind: str  # "csv" | "run"
    metric: str | None
    greater_is_better: bool | None  # None: not known from the source
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Reading a scores CSV
# --------------------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory; pass a scores CSV or a run directory")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as UTF-8 text ({exc}); pass a CSV file") from exc
    try:
        rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV ({exc})") from exc
    if not rows:
        raise InputError(f"{path}: file is empty; expected a header 'dataset,<candidate>,...'")
    return rows


def _check_header(path: Path, header: list[str]) -> list[str]:
    names = [h.strip() for h in header]
    if len(names) < 2:
        raise InputError(
            f"{path}: only one column; expected the dataset names first, then one column per "
            "candidate (at least two)"
        )
    if len(names) < 3:
        raise InputError(
            f"{path}: only one candidate column ({names[1]!r}); add at least one more candidate "
            "column to compare"
        )
    cands = names[1:]
    if any(not c for c in cands):
        pos = [i + 2 for i, c in enumerate(cands) if not c]
        raise InputError(f"{path}: column(s) {pos} have an empty header; name every candidate")
    dups = sorted({c for c in cands if cands.count(c) > 1})
    if dups:
        raise InputError(f"{path}: duplicate candidate column(s) {dups}; give each a unique name")
    return names


def _parse_cell(path: Path, line: int, dataset: str, column: str, raw: str) -> float:
    token = raw.strip()
    if token.lower() in MISSING_TOKENS:
        return math.nan
    try:
        value = float(token)
    except ValueError:
        raise InputError(
            f"{path}: line {line}, dataset {dataset!r}, column {column!r}: {raw!r} is not a "
            "number; use a number, or leave the cell empty for a missing result"
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"{path}: line {line}, dataset {dataset!r}, column {column!r}: {raw!r} is not finite;"
            " leave the cell empty for a missing result"
        )
    return value


def read_scores_csv(path: str | Path) -> pd.DataFrame:
    """Read a scores CSV into a block: index = dataset names, columns = candidates, float cells.

    Raises :class:`InputError` for a missing/empty file, fewer than two candidate columns, fewer
    than two datasets, duplicate dataset or candidate names, ragged rows and non-numeric cells.
    """
    import pandas as pd

    path = Path(path)
    rows = _read_rows(path)
    names = _check_header(path, rows[0])
    data: dict[str, list[float]] = {c: [] for c in names[1:]}
    index: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(names):
            raise InputError(
                f"{path}: line {line} has {len(row)} fields, the header has {len(names)}; "
                "every row needs a dataset name and one score per candidate"
            )
        dataset = row[0].strip()
        if not dataset:
            raise InputError(f"{path}: line {line}: empty dataset name in the first column")
        index.append(dataset)
        for col, raw in zip(names[1:], row[1:], strict=True):
            data[col].append(_parse_cell(path, line, dataset, col, raw))
    if len(index) < 2:
        raise InputError(
            f"{path}: {len(index)} dataset row(s); need at least two datasets to rank candidates"
        )
    dups = sorted({d for d in index if index.count(d) > 1})
    if dups:
        raise InputError(f"{path}: duplicate dataset name(s) {dups}; give each row a unique name")
    return pd.DataFrame(data, index=pd.Index(index, name=names[0] or "dataset"))


# --------------------------------------------------------------------------------------------
# Reading a run directory
# --------------------------------------------------------------------------------------------


def _suite_metric(suite: dict[str, Any]) -> str | None:
    """The suite's metric: a name, or a {kind group: name} mapping with one distinct name."""
    metric = suite.get("metric")
    if isinstance(metric, dict):
        names = {str(v) for v in metric.values() if v}
        return names.pop() if len(names) == 1 else None
    return str(metric) if metric else None


def _task_metrics(results: ResultTable, tasks: list[str], available: list[str]) -> dict[str, str | None]:
    """Each task's tuning metric: manifest ``tasks[t].metric``, the rows' ``metric`` column,
    the suite metric, or the only recorded ``test_*`` column."""
    table, info = results.df, results.tasks
    suite = _suite_metric(results.suite)
    only = available[0] if len(available) == 1 else None
    out: dict[str, str | None] = {}
    for t in tasks:
        entry = info.get(t) if isinstance(info.get(t), dict) else {}
        rows = table.loc[table["task"] == t, "metric"].dropna() if "metric" in table else []
        out[t] = entry.get("metric") or (str(rows.iloc[0]) if len(rows) else None) or suite or only
    return out


def _cell_scores(table: pd.DataFrame, metric_of: dict[str, str], orient: bool) -> pd.DataFrame:
    """Rows ok with a score in ``score`` (the task's metric, negated if lower-is-better and
    ``orient``)."""
    import pandas as pd

    from benchmark.metrics import greater_is_better

    parts = []
    for task, m in metric_of.items():
        sub = table[table["task"] == task]
        score = pd.to_numeric(sub[f"test_{m}"], errors="coerce")
        if orient and not greater_is_better(m):
            score = -score
        parts.append(sub.assign(score=score))
    cells = pd.concat(parts) if parts else table.assign(score=[])
    return cells[(cells["state"] == "ok") & cells["score"].notna()]


def read_run_dir(run_dir: str | Path, *, metric: str | None = None) -> Scores:
    """Block of mean ``test_<metric>`` over ok outer folds per (task, candidate) of a run.

    The metric is ``metric`` when given, else each task's tuning metric (manifest ``tasks``,
    the rows' ``metric`` column, or ``suite.metric``).  When tasks use different metrics the
    scores are oriented (lower-is-better metrics negated) so the block is higher-is-better.
    Cells with no ok fold are NaN (missing).  Notes report cells averaged over fewer folds.
    """
    from benchmark.results.table import RESULTS_CSV, ResultTable

    run_dir = Path(run_dir)
    path = run_dir / RESULTS_CSV
    if not path.exists():
        raise InputError(f"{run_dir}: no results.csv; pass a run directory or a scores CSV")
    results = ResultTable.from_export(run_dir)
    table = results.df
    need = [c for c in ("task", "candidate", "state") if c not in table.columns]
    if need:
        raise InputError(f"{path}: missing column(s) {need}; is this a benchmark run directory?")
    available = [c[len("test_"):] for c in table.columns if c.startswith("test_")]
    tasks = sorted(table["task"].unique())
    if metric is not None:
        metric = metric.removeprefix("test_")
        metric_of: dict[str, str | None] = dict.fromkeys(tasks, metric)
    else:
        metric_of = _task_metrics(results, tasks, available)
    unknown = sorted(t for t, m in metric_of.items() if not m)
    if unknown:
        raise InputError(f"{run_dir}: no metric recorded for task(s) {unknown}; choose one with "
                         f"--metric (recorded: {', '.join(available) or 'none'})")
    missing = sorted({m for m in metric_of.values() if m not in available})
    if missing:
        raise InputError(f"{path}: no column(s) {', '.join('test_' + m for m in missing)}; "
                         f"choose --metric from: {', '.join(available) or 'none recorded'}")
    from benchmark.metrics import greater_is_better, is_bounded

    names = sorted(set(metric_of.values()))
    mixed = len(names) > 1
    # as in the report: raw scores only for one bounded metric; otherwise normalised per task
    normalise = mixed or (len(tasks) > 1 and not is_bounded(names[0]))
    cells = _cell_scores(table, metric_of, orient=normalise)
    if cells.empty:
        raise InputError(f"{path}: no rows with state == 'ok' and a score; nothing to rank")
    grouped = cells.groupby(["task", "candidate"])["score"]
    block = grouped.mean().unstack("candidate")
    block = block.reindex(index=tasks, columns=sorted(table["candidate"].unique()))
    block.index.name, block.columns.name = "task", None
    notes = _partial_notes(table, grouped.size())
    if normalise:
        from benchmark.results.table import normalise_rows

        why = (f"the tasks use different metrics ({', '.join(names)})" if mixed
               else f"{names[0]} is in the units of each task's target")
        notes = (f"scores normalised per task (0 = the worst candidate's mean, 1 = the best's) because {why}; "
                 "mean scores and the rope are in normalised points", *notes)
        return Scores(normalise_rows(block), str(run_dir), "run", "normalised " + "+".join(names), True, notes)
    return Scores(block, str(run_dir), "run", names[0], greater_is_better(names[0]), notes)


def _partial_notes(table: pd.DataFrame, ok_counts: pd.Series) -> tuple[str, ...]:
    total = table.groupby(["task", "candidate"]).size()
    ok = ok_counts.reindex(total.index, fill_value=0)
    partial = total[(ok > 0) & (ok < total)]
    if partial.empty:
        return ()
    cells = ", ".join(f"{t}/{c}" for t, c in partial.index[:5])
    more = f" and {len(partial) - 5} more" if len(partial) > 5 else ""
    return (f"{len(partial)} cell(s) averaged over fewer folds because some failed: {cells}{more}",)


def load_scores(source: str | Path, *, metric: str | None = None) -> Scores:
    """A scores CSV or a run directory → :class:`Scores`."""
    path = Path(source)
    if path.is_dir():
        return read_run_dir(path, metric=metric)
    if metric is not None:
        raise InputError(f"{path}: --metric applies to a run directory, not to a scores CSV")
    return Scores(read_scores_csv(path), str(path), "csv", None, None)


# --------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> str:
    from benchmark.report.markup import fixed

    return fixed(x, digits, missing="-", inf=True)


def _p(p: float) -> str:
    from benchmark.report.markup import p_text

    return p_text(p, missing="-")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return out


def _missing_line(r: RankResult) -> str:
    parts = [f"missing results: {len(r.missing_cells)} cell(s), policy '{r.missing}'"]
    if r.missing == "baseline":
        parts.append(f"{len(r.filled_cells)} filled from '{r.baseline}'")
    if r.dropped_datasets:
        parts.append(f"dropped datasets: {', '.join(r.dropped_datasets)}")
    if r.dropped_candidates:
        parts.append(f"dropped candidates: {', '.join(r.dropped_candidates)}")
    return "; ".join(parts)


def _ranking_lines(r: RankResult) -> list[str]:
    rows = []
    for i, (c, m) in enumerate(r.mean_ranks.items(), 1):
        lo, hi = r.rank_ci.get(c, (math.nan, math.nan))
        rows.append([f"{i}. {c}", _num(m), f"[{_num(lo, 2)}, {_num(hi, 2)}]" if r.rank_ci else "-",
                     _num(r.mean_scores[c], 4)])
    return _table(["candidate", "mean rank", f"rank {100 * (1 - r.alpha):.0f}% CI", "mean score"], rows)


def _omnibus_lines(r: RankResult) -> list[str]:
    fr, iman, nem, bd = r.friedman, r.iman_davenport, r.nemenyi, r.bonferroni_dunn
    groups = "; ".join("{" + ", ".join(g) + "}" for g in nem.groups) or "none (all differ)"
    lines = [
        "",
        f"Friedman:        chi2({fr.df}) = {_num(fr.statistic)}, p = {_p(fr.p_value)}",
        f"Iman-Davenport:  F({iman.df1}, {iman.df2}) = {_num(iman.statistic)}, "
        f"p = {_p(iman.p_value)}",
        f"Nemenyi:         CD = {_num(nem.cd)} (q = {_num(nem.q_alpha)}, alpha = {r.alpha:g})",
        f"Groups not significantly different (Nemenyi): {groups}",
        "",
        f"Bonferroni-Dunn vs control '{bd.control}': CD = {_num(bd.cd)}",
    ]
    rows = [[c.candidate, _num(c.rank_diff), _num(c.z, 2), _p(c.p_value), _p(c.p_holm),
             "yes" if c.significant else "no"] for c in bd.comparisons]
    return lines + _table(["candidate", "rank diff", "z", "p", "p_holm", "beyond CD"], rows)


def _pairwise_lines(r: RankResult) -> list[str]:
    from benchmark.stats import DEFAULT_ROPE

    lines = ["", f"Pairwise (Wilcoxon signed-rank, Holm over {len(r.pairwise)} pairs; "
             f"Bayesian signed-rank, rope = {r.bayes[0].rope if r.bayes else DEFAULT_ROPE:g})"]
    rows = []
    for p, b in zip(r.pairwise, r.bayes, strict=True):
        rows.append([
            f"{p.a} vs {p.b}", _num(p.mean_diff, 4),
            f"[{_num(p.ci_low, 4)}, {_num(p.ci_high, 4)}]", f"{p.wins}/{p.ties}/{p.losses}",
            _p(p.p_value), _p(p.p_holm), "yes" if p.reject else "no",
            f"{b.p_left:.2f}/{b.p_rope:.2f}/{b.p_right:.2f}" if math.isfinite(b.p_left) else "-",
        ])
    return lines + _table(["pair (a vs b)", "mean a-b", f"{100 * (1 - r.alpha):.0f}% CI", "W/T/L", "p",
                           "p_holm", "signif.", "P(a)/P(=)/P(b)"], rows)


def render_text(r: RankResult) -> str:
    """A readable multi-line report of ``r``: ranking, omnibus tests, groups, pairwise table."""
    lines = [
        f"Ranking of {r.n_candidates} candidates on {r.n_datasets} datasets "
        f"({'higher' if r.greater_is_better else 'lower'} is better; rank 1 = best)",
        _missing_line(r),
        "",
    ]
    lines += _ranking_lines(r) + _omnibus_lines(r) + _pairwise_lines(r)
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("source", metavar="SCORES.csv|RUN_DIR",
                        help="scores CSV (first column = datasets, one column per candidate) "
                             "or a run directory")
    parser.add_argument("--alpha", type=_ALPHA, default=0.05,
                        help="significance level (default: 0.05)")
    way = parser.add_mutually_exclusive_group()
    way.add_argument("--lower-is-better", dest="greater_is_better", action="store_false",
                     default=None, help="lower scores are better (e.g. error, log loss)")
    way.add_argument("--higher-is-better", dest="greater_is_better", action="store_true",
                     help="higher scores are better (default for a CSV)")
    parser.add_argument("--metric", help="run directory only: rank on test_METRIC instead of "
                                         "the suite's metric")
    parser.add_argument("--missing", choices=["drop", "last", "baseline"], default="drop",
                        help="missing results: drop the dataset (default), rank the failure "
                             "last, or fill with --baseline's score")
    parser.add_argument("--baseline", help="candidate whose score fills gaps (--missing baseline)")
    parser.add_argument("--control", help="control for the Bonferroni-Dunn test (default: best)")
    parser.add_argument("--rope", type=float, default=0.01,
                        help="region of practical equivalence for the Bayesian test, in score "
                             "units (default: 0.01)")
    parser.add_argument("--n-boot", type=int, default=1000,
                        help="bootstrap resamples for rank confidence intervals (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for bootstrap and Bayes draws")
    bayes = parser.add_mutually_exclusive_group()
    bayes.add_argument("--bayes-samples", type=argtypes.positive_int, default=None, metavar="N",
                       help="posterior draws per pair for the Bayesian signed-rank test (default: "
                            "20000, fewer when there are many pairs and datasets)")
    bayes.add_argument("--no-bayes", dest="bayes_samples", action="store_const", const=0,
                       help="skip the Bayesian signed-rank test (the slow part on big tables)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rank`` on an ``argparse`` subparsers object; returns the sub-parser."""
    parser = subparsers.add_parser(
        "rank", help="rank candidates across datasets with significance tests",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    return _configure(parser)


def _direction(scores: Scores, flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return True if scores.greater_is_better is None else scores.greater_is_better


def _source_info(scores: Scores, greater: bool) -> dict[str, Any]:
    return {"path": scores.source, "kind": scores.kind, "metric": scores.metric,
            "greater_is_better": greater, "notes": list(scores.notes)}


def run(args: argparse.Namespace) -> int:
    """Run ``bench rank`` with parsed ``args``; prints to stdout, returns the exit code."""
    from benchmark import stats

    try:
        scores = load_scores(args.source, metric=getattr(args, "metric", None))
        greater = _direction(scores, args.greater_is_better)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        with _pair_progress(scores.block.shape, getattr(args, "bayes_samples", None)) as progress:
            result = stats.rank(
                scores.block, greater_is_better=greater, alpha=args.alpha, missing=args.missing,
                control=args.control, baseline=args.baseline, n_boot=args.n_boot, seed=args.seed,
                rope=args.rope, bayes_samples=getattr(args, "bayes_samples", None), progress=progress,
            )
    except InputError as exc:  # about the scores: name where they came from
        print(f"{PROG}: error: {scores.source}: {exc}", file=sys.stderr)
        return 2
    info = _source_info(scores, greater)
    if args.json:
        print(json.dumps({**result.to_dict(), "source": info}, indent=2))
    else:
        metric = f", metric {scores.metric}" if scores.metric else ""
        print(f"Source: {scores.source} ({'run directory' if scores.kind == 'run' else 'CSV'}"
              f"{metric})")
        for note in scores.notes:
            print(f"note: {note}")
        print(render_text(result))
    return 0


@contextlib.contextmanager
def _pair_progress(shape: tuple[int, int], bayes_samples: int | None):
    """A progress bar on stderr over the pairwise tests, for tables big enough to take a while."""
    n, k = shape
    if bayes_samples == 0 or n * k * (k - 1) // 2 < 200_000:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=k * (k - 1) // 2, desc="pairwise tests", unit="pair", file=sys.stderr, dynamic_ncols=True) as bar:
        yield lambda done, total: bar.update(done - bar.n)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``python -m benchmark.cli.rank SCORES.csv [options]``."""
    parser = _configure(argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0]))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
