"""Everything the report shows, computed once from the stored records (no refitting).

:func:`analyse` turns a run's :class:`ResultTable`, manifest and records into an
:class:`Analysis`: the across-task ranking with its tests (on which block, and why), per-task
comparisons against the best (corrected resampled t-test, Holm), the curves, the fairness audit
and the list of what is missing.  The section renderers read only this object.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import greater_is_better, is_bounded
from benchmark.report import curves
from benchmark.results.records import job_key, latest_jobs
from benchmark.results.table import ResultTable

log = logging.getLogger(__name__)

ALPHA = 0.05
MISSING_POLICY = "last"
#: Metrics on one scale whatever the task; differences in them can be compared across tasks.


@dataclass
class Analysis:
    """What the report reads.  Frames are tidy; names are raw (renderers escape them)."""

    table: ResultTable
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    candidates: list[str]
    tasks: list[str]
    metrics: dict[str, str]  # task -> tuning metric
    alpha: float = ALPHA
    block: pd.DataFrame = field(default_factory=pd.DataFrame)  # task x candidate, oriented mean scores
    test_block: pd.DataFrame = field(default_factory=pd.DataFrame)  # what the across-task tests used
    test_block_kind: str = "raw"  # "raw" (one scale-free metric) or "normalised"
    test_block_reason: str = ""  # why normalised scores were used
    rank: Any = None  # stats.RankResult or None
    rank_note: str = ""  # why there is no ranking, when there is none
    per_task: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # task -> metric -> compare_to_best frame
    per_task_note: dict[str, str] = field(default_factory=dict)
    lc: pd.DataFrame = field(default_factory=pd.DataFrame)
    lc_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    tc: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget: pd.DataFrame = field(default_factory=pd.DataFrame)
    epochs: pd.DataFrame = field(default_factory=pd.DataFrame)
    expected_jobs: int = 0
    missing_jobs: list[tuple[str, str, int]] = field(default_factory=list)
    _folds: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def one_metric(self) -> bool:
        return len(set(self.metrics.values())) <= 1

    @functools.cached_property
    def jobs(self) -> list[dict[str, Any]]:
        """The last record of every (task, candidate, fold) job (a resumed run may repeat one)."""
        return latest_jobs(self.records)

    @property
    def leader(self) -> str | None:
        if self.rank is not None:
            return self.rank.candidates[0]
        lb = self.table.leaderboard()
        return None if lb.empty else str(lb.iloc[0]["candidate"])

    def mean_ranks(self) -> dict[str, float]:
        """Candidate -> mean rank over tasks (missing results rank last), best first."""
        if self.rank is not None:
            ranks = dict(self.rank.mean_ranks)
            return ranks
        lb = self.table.leaderboard()
        return {str(r.candidate): float(r.mean_rank) for r in lb.itertuples()}

    def pair(self, a: str, b: str) -> dict[str, Any] | None:
        """The Wilcoxon–Holm record of the pair, oriented from ``a``'s side (wins are ``a``'s)."""
        if self.rank is None:
            return None
        for p in self.rank.pairwise:
            if p.a == a and p.b == b:
                return {"p_value": p.p_value, "p_holm": p.p_holm, "reject": p.reject, "wins": p.wins, "ties": p.ties,
                        "losses": p.losses, "better": a, "rank_diff": p.rank_diff, "nemenyi": p.nemenyi_significant}
            if p.a == b and p.b == a:
                return {"p_value": p.p_value, "p_holm": p.p_holm, "reject": p.reject, "wins": p.losses, "ties": p.ties,
                        "losses": p.wins, "better": b, "rank_diff": p.rank_diff, "nemenyi": p.nemenyi_significant}
        return None

    def groups(self) -> dict[str, str]:
        """Compact letter display of the Nemenyi groups: candidates sharing a letter are not
        significantly different.  With one task, the per-task test against the best is used."""
        if self.rank is not None:
            letters: dict[str, str] = {c: "" for c in self.rank.candidates}
            groups = [list(g) for g in self.rank.nemenyi.groups]
            grouped = {c for g in groups for c in g}
            for c in self.rank.candidates:
                if c not in grouped:
                    groups.append([c])
            groups.sort(key=lambda g: min(self.rank.mean_ranks[c] for c in g))
            for i, g in enumerate(groups):
                for c in g:
                    letters[c] += _letter(i)
            return letters
        if len(self.tasks) == 1 and self.tasks[0] in self.per_task:
            cmp = self.per_task[self.tasks[0]].get(self.metrics[self.tasks[0]])
            if cmp is not None:
                return {c: ("best" if row.is_best else "worse" if row.worse else "≈ best") for c, row in cmp.iterrows()}
        return {}


def _letter(i: int) -> str:
    return chr(ord("a") + i) if i < 26 else f"g{i}"


# ---------------------------------------------------------------------------------------------


def analyse(table: ResultTable, manifest: dict[str, Any], records: list[dict[str, Any]], *, alpha: float = ALPHA) -> Analysis:
    """Compute everything the report shows; never raises for a statistic that cannot be computed
    (the reason goes into the analysis and the report says it)."""
    order = manifest.get("order", {})
    candidates = list(order.get("candidates") or table.candidates)
    for c in table.df["candidate"].unique() if "candidate" in table.df else []:
        if c not in candidates:
            candidates.append(c)
    tasks = list(order.get("tasks") or table.tasks)
    for t in table.tasks:
        if t not in tasks:
            tasks.append(t)
    metrics = {t: table.task_metric(t) for t in tasks if table.task_metric(t)}
    a = Analysis(table=table, manifest=manifest, records=records, candidates=candidates, tasks=tasks, metrics=metrics, alpha=alpha)
    _missing(a)
    _ranking(a)
    for t in tasks:
        _per_task(a, t)
    _curves(a)
    return a


def _missing(a: Analysis) -> None:
    suite = a.manifest.get("suite", {})
    n_folds = int(suite.get("folds", 0) or 0) * int(suite.get("repeats", 1) or 1)
    done = {job_key(r) for r in a.jobs}
    a.expected_jobs = len(a.tasks) * len(a.candidates) * n_folds
    a.missing_jobs = [(t, c, k) for t in a.tasks for c in a.candidates for k in range(n_folds) if (t, c, k) not in done]


def _ranking(a: Analysis) -> None:
    from benchmark import stats

    if a.table.df.empty:
        a.rank_note = "no job has finished yet"
        return
    block = a.table.to_block(oriented=True)
    # a candidate with no result at all is a column of NaN: it ranks last everywhere
    block = block.reindex(index=[t for t in a.tasks if t in block.index], columns=a.candidates)
    a.block = block
    metrics = sorted(set(a.metrics.values()))
    if a.one_metric and metrics and is_bounded(metrics[0]):
        a.test_block, a.test_block_kind = block, "raw"
    else:
        norm = a.table.normalized_block().reindex(index=block.index, columns=a.candidates)
        a.test_block, a.test_block_kind = norm, "normalised"
        a.test_block_reason = ("the tasks use different metrics (" + ", ".join(metrics) + ")" if len(metrics) > 1
                               else f"{metrics[0] if metrics else 'the metric'} is in the units of each task's target, so differences are not comparable across tasks")
    usable = a.test_block[a.test_block.notna().any(axis=1)]
    if usable.shape[0] < 2:
        a.rank_note = f"tests across tasks need at least two tasks with results (this run has {usable.shape[0]})"
        return
    if usable.shape[1] < 2:
        a.rank_note = "tests need at least two candidates"
        return
    try:
        a.rank = stats.rank(usable, greater_is_better=True, alpha=a.alpha, missing=MISSING_POLICY, n_boot=0, bayes_samples=0)
    except Exception as exc:  # the report must render even when a test cannot be computed
        log.warning("ranking failed: %s", exc)
        a.rank_note = f"the ranking could not be computed: {exc}"


def fold_scores(a: Analysis, task: str, metric: str) -> pd.DataFrame:
    """Folds × candidates test scores of ``metric`` on ``task`` (completed jobs only; cached)."""
    key = (task, metric)
    if key not in a._folds:
        df = a.table.ok
        sub = df[df["task"] == task]
        col = f"test_{metric}"
        if sub.empty or col not in sub:
            a._folds[key] = pd.DataFrame()
        else:
            wide = sub.pivot_table(index="fold", columns="candidate", values=col, aggfunc="mean")
            a._folds[key] = wide.reindex(columns=[c for c in a.candidates if c in wide.columns])
    return a._folds[key]


def _per_task(a: Analysis, task: str) -> None:
    from benchmark import stats

    df = a.table.ok
    sub = df[df["task"] == task]
    if sub.empty:
        a.per_task_note[task] = "no completed job"
        return
    n_train, n_test = float(sub["n_train"].mean()), float(sub["n_test"].mean())
    out: dict[str, pd.DataFrame] = {}
    for m in a.table.metrics():
        wide = fold_scores(a, task, m)
        if wide.empty or not wide.notna().any().any():
            continue
        complete = wide.loc[:, wide.notna().all()]
        if complete.shape[1] < 2 or complete.shape[0] < 2:
            a.per_task_note[task] = "tests against the best need two candidates with a score on every outer fold and at least two folds"
            continue
        try:
            out[m] = stats.compare_to_best(complete, n_train=n_train, n_test=n_test, greater_is_better=greater_is_better(m), alpha=a.alpha)
        except Exception as exc:
            log.warning("compare_to_best failed on %s/%s: %s", task, m, exc)
            a.per_task_note[task] = f"the test against the best could not be computed: {exc}"
    if task in a.metrics and a.metrics[task] in out:
        wide = fold_scores(a, task, a.metrics[task])
        incomplete = [c for c in a.candidates if c not in wide.columns or wide[c].isna().any()]
        if incomplete:
            a.per_task_note[task] = "not tested against the best (an outer fold is missing or failed): " + ", ".join(incomplete)
    a.per_task[task] = out


def _curves(a: Analysis) -> None:
    try:
        a.lc = curves.learning_curves(a.records, a.metrics)
        a.lc_summary = curves.learning_curve_summary(a.lc)
        a.tc = curves.tuning_curves(a.records, a.metrics)
        a.budget = curves.budget_ranks(a.records, a.metrics, a.candidates)
        a.epochs = curves.epoch_histories(a.records)
    except Exception as exc:  # a damaged curve record must not cost the whole report
        log.warning("curves could not be computed: %s", exc)


def kendall_tau(x: dict[str, float], y: dict[str, float]) -> float:
    """Kendall's tau-b between two rankings over their common candidates (NaN if fewer than 3)."""
    from scipy.stats import kendalltau

    common = [c for c in x if c in y and math.isfinite(x[c]) and math.isfinite(y[c])]
    if len(common) < 3:
        return math.nan
    tau = kendalltau([x[c] for c in common], [y[c] for c in common]).statistic
    return float(tau) if tau is not None and np.isfinite(tau) else math.nan
