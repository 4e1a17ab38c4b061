"""Everything the report shows, computed once from the stored records (no refitting).

:func:`analyse` turns a run's :class:`ResultTable`, manifest and records into an
:class:`Analysis`: the across-task ranking with its tests (on which block, and why), per-task
comparisons against the best (corrected resampled t-test, Holm), the leaderboard and per-task
tables, the curves, the fairness audit (:mod:`benchmark.report.audit`) and the list of what is
missing.  The section renderers read only this object.  The numbers of one section that are
cheap to skip are cached properties, computed when the section asks, so that one that cannot be
computed costs only that section.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import error_of, greater_is_better, is_bounded
from benchmark.report import curves, diagnostics, power
from benchmark.report.arena import ArenaTable, arena_table, reference_candidate
from benchmark.report.audit import Audit, audit
from benchmark.report.markup import finite
from benchmark.results.records import job_key, latest_jobs
from benchmark.results.table import ResultTable

log = logging.getLogger(__name__)

ALPHA = 0.05
MISSING_POLICY = "last"


@dataclass(frozen=True)
class Spread:
    """Mean, sample sd (NaN below two values) and count of the finite values of a column."""

    mean: float
    sd: float
    n: int


def spread(values: pd.Series) -> Spread:
    v = values.dropna()
    return Spread(float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) > 1 else math.nan, int(len(v)))


@dataclass(frozen=True)
class LeaderRow:
    """One candidate's line of the leaderboard."""

    candidate: str
    mean_rank: float
    tasks_won: int  # tasks on which it ranked first (ties included)
    normalised: Spread  # over tasks, per task 0 = worst and 1 = best candidate
    raw: Spread | None  # in metric units (over folds with one task, over task means otherwise), where shown
    n_failed: int  # failed jobs


@dataclass(frozen=True)
class TaskScores:
    """The per-task table: outer-test scores per metric and candidate, and completed folds."""

    metrics: list[str]  # the tuning metric first, then every other metric with a score
    candidates: list[str]  # best mean on the tuning metric first, candidates without a score last
    scores: dict[str, dict[str, Spread]]  # metric -> candidate -> over the outer folds
    n_ok: dict[str, int]  # candidate -> completed outer folds


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
    test_orders: pd.DataFrame = field(default_factory=pd.DataFrame)  # curves.shuffled_test_curves (final: bag)
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)  # curves.variant_summary (final: bag)
    epochs: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_folds: int = 0  # outer folds per task (folds × repeats)
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
    def n_ok(self) -> int:
        """Jobs that completed."""
        return sum(1 for r in self.jobs if r.get("state") == "ok")

    @functools.cached_property
    def failed_jobs(self) -> list[dict[str, Any]]:
        """Jobs whose latest record is not ``ok``, in record order."""
        return [r for r in self.jobs if r.get("state") != "ok"]

    @functools.cached_property
    def audit(self) -> Audit:
        """Budget, cost and split checks, post-hoc ensembles (see :mod:`benchmark.report.audit`)."""
        return audit(self.jobs, self.candidates, self.tasks, self.manifest)

    @functools.cached_property
    def _table_leaderboard(self) -> pd.DataFrame:
        return self.table.leaderboard()

    @property
    def leader(self) -> str | None:
        if self.rank is not None:
            return self.rank.candidates[0]
        lb = self._table_leaderboard
        return None if lb.empty else str(lb.iloc[0]["candidate"])

    @functools.cached_property
    def duration(self) -> float:
        """Wall seconds from the first job's start to the last job's end (NaN when unknown)."""
        from datetime import datetime

        spans = []
        for j in self.jobs:
            try:
                t0 = datetime.fromisoformat(str(j["started"])).timestamp()
                spans.append((t0, t0 + float(j.get("total_seconds") or 0.0)))
            except (KeyError, TypeError, ValueError):
                continue
        return max(e for _, e in spans) - min(s for s, _ in spans) if spans else math.nan

    @functools.cached_property
    def post_hoc(self) -> list[str]:
        """Candidates built after tuning from the others' trials (post-hoc ensembles), suite order."""
        found = {j.get("candidate") for j in self.jobs if j.get("post_hoc")}
        return [c for c in self.candidates if c in found]

    @property
    def equal_budget_leader(self) -> str | None:
        """The best-ranked candidate that spent only its own budget (not a post-hoc ensemble)."""
        return next((c for c in self.mean_ranks() if c not in self.post_hoc), None)

    @functools.cached_property
    def fold_block(self) -> pd.DataFrame:
        """(task, fold) × candidates outer-test scores of each task's tuning metric, oriented so
        that greater is better; NaN where a job failed or is missing (every expected fold listed)."""
        ok = self.table.ok
        parts = []
        for t in self.tasks:
            m = self.metrics.get(t)
            sub = ok[ok["task"] == t] if "task" in ok else ok
            if not m or sub.empty or f"test_{m}" not in sub:
                continue
            wide = sub.pivot_table(index="fold", columns="candidate", values=f"test_{m}", aggfunc="mean")
            wide = wide.reindex(index=range(max(self.n_folds, int(wide.index.max()) + 1)), columns=self.candidates)
            parts.append((t, wide * (1.0 if greater_is_better(m) else -1.0)))
        if not parts:
            return pd.DataFrame(columns=self.candidates)
        return pd.concat({t: w for t, w in parts}, names=["task", "fold"])

    @functools.cached_property
    def arena(self) -> ArenaTable | None:
        """Elo (bootstrap CIs), win rate, improvability, harmonic mean rank; None below two candidates."""
        fb = self.fold_block
        if fb.empty or fb.shape[1] < 2 or not fb.notna().any().any():
            return None
        means = fb.groupby(level=0, sort=False).mean()
        errors = pd.DataFrame({c: [error_of(self.metrics[t], (1 if greater_is_better(self.metrics[t]) else -1) * v)
                                   for t, v in means[c].items()] for c in means.columns}, index=means.index)
        return arena_table(fb, errors)

    @functools.cached_property
    def tradeoff(self) -> pd.DataFrame:
        """Score against training time, prediction time per 1,000 rows and model size (Pareto marked).

        The score is the leaderboard's: the mean normalised score over tasks, or, with one task,
        the mean of the tuning metric oriented so that greater is better (see ``tradeoff_label``).
        """
        rows = self.leaderboard_rows
        if len(self.tasks) == 1:
            score = pd.Series({r.candidate: r.raw.mean if r.raw is not None else math.nan for r in rows})
            score = score * (1.0 if greater_is_better(self.raw_metric) else -1.0)
        else:
            score = pd.Series({r.candidate: r.normalised.mean for r in rows})
        return diagnostics.tradeoff_table(self.jobs, score)

    @property
    def tradeoff_label(self) -> str:
        if len(self.tasks) == 1:
            m = self.raw_metric
            return m if greater_is_better(m) else f"−{m}"
        return "mean normalised score"

    @functools.cached_property
    def overtuning(self) -> pd.DataFrame:
        """Per candidate: share of jobs whose tuned configuration lost to the default on test, mean inner − test gap."""
        return diagnostics.overtuning_table(self.jobs, self.metrics, self.candidates)

    @functools.cached_property
    def sensitivity(self) -> diagnostics.PolicySensitivity | None:
        """The ranking under each missing-result policy; None when nothing failed or is missing."""
        if self.rank is None or not (self.failed_jobs or self.missing_jobs):
            return None
        usable = self.test_block[self.test_block.notna().any(axis=1)]
        return diagnostics.policy_sensitivity(usable, baseline=reference_candidate(list(usable.columns)), alpha=self.alpha)

    @functools.cached_property
    def mde_across(self) -> float:
        """Smallest leader-vs-candidate difference (test-block units) the Wilcoxon–Holm test detects with 80 % power."""
        if self.rank is None:
            return math.nan
        blk = self.test_block[self.test_block.notna().any(axis=1)]
        lead = self.leader
        sds = [float((blk[lead] - blk[c]).std(ddof=1)) for c in blk.columns if c != lead and (blk[lead] - blk[c]).notna().sum() > 1]
        sds = [v for v in sds if math.isfinite(v)]
        k = blk.shape[1]
        return power.wilcoxon_mde(float(np.median(sds)) if sds else math.nan, blk.shape[0], alpha=self.alpha, m=k * (k - 1) // 2)

    @functools.cached_property
    def mde_per_task(self) -> dict[str, float]:
        """Task → smallest difference from the best (metric units) the corrected t-test–Holm detects with 80 % power."""
        out = {}
        for t, cmp in self.per_task.items():
            m = self.metrics.get(t)
            if m not in cmp:
                continue
            wide = fold_scores(self, t, m)
            wide = wide.loc[:, wide.notna().all()]
            best = cmp[m].index[0]
            sds = [float((wide[best] - wide[c]).std(ddof=1)) for c in wide.columns if c != best]
            sub = self.table.ok[self.table.ok["task"] == t]
            out[t] = power.ttest_mde(float(np.median(sds)) if sds else math.nan, wide.shape[0], float(sub["n_train"].mean()),
                                     float(sub["n_test"].mean()), alpha=self.alpha, m=wide.shape[1] - 1)
        return out

    def mean_ranks(self) -> dict[str, float]:
        """Candidate -> mean rank over tasks (missing results rank last), best first."""
        if self.rank is not None:
            ranks = dict(self.rank.mean_ranks)
            return ranks
        lb = self._table_leaderboard
        return {str(r.candidate): float(r.mean_rank) for r in lb.itertuples()}

    def tied_leaders(self) -> list[str]:
        """The candidates sharing the leader's mean rank (the leader alone when there is no tie)."""
        ranks, leader = self.mean_ranks(), self.leader
        return [c for c in ranks if abs(ranks[c] - ranks[leader]) < 1e-9]

    @property
    def raw_metric(self) -> str:
        """The one tuning metric (empty when there is none; with several, one of them)."""
        return next(iter(set(self.metrics.values())), "")

    @property
    def show_raw(self) -> bool:
        """Whether a mean in metric units means something: one task, or one bounded metric."""
        return self.one_metric and (len(self.tasks) == 1 or is_bounded(self.raw_metric))

    @functools.cached_property
    def leaderboard_rows(self) -> list[LeaderRow]:
        """One row per candidate, best mean rank first (empty when nothing has finished)."""
        ranks = self.mean_ranks()
        if not ranks:
            return []
        block = self.block if not self.block.empty else self.table.to_block(oriented=True)
        norm = self.table.normalized_block().reindex(columns=list(ranks)) if not self.table.df.empty else pd.DataFrame()
        task_ranks = block.rank(axis=1, ascending=False, method="average", na_option="bottom") if not block.empty else pd.DataFrame()
        raw = self.table.to_block(oriented=False) if self.show_raw else pd.DataFrame()
        return [LeaderRow(candidate=c, mean_rank=r,
                          tasks_won=int((task_ranks[c] == 1).sum()) if c in task_ranks else 0,
                          normalised=spread(norm[c] if c in norm else pd.Series(dtype=float)),
                          raw=self._raw_spread(c, raw) if self.show_raw and c in raw else None,
                          n_failed=sum(1 for j in self.jobs if j.get("candidate") == c and j.get("state") != "ok"))
                for c, r in ranks.items()]

    def _raw_spread(self, c: str, raw: pd.DataFrame) -> Spread:
        if len(self.tasks) != 1:
            return spread(raw[c])
        sub = self.table.ok[(self.table.ok["candidate"] == c)]
        col = f"test_{self.metrics[self.tasks[0]]}"
        return spread(sub[col].astype(float) if col in sub else pd.Series(dtype=float))

    def task_scores(self, task: str) -> TaskScores:
        """Mean ± sd over the outer folds of every recorded metric on ``task``, per candidate."""
        m0 = self.metrics.get(task, "")
        metrics = [m0] + [m for m in self.table.metrics() if m != m0]
        metrics = [m for m in metrics if m and not fold_scores(self, task, m).empty and fold_scores(self, task, m).notna().any().any()]
        order = list(self.candidates)
        if m0 in metrics:
            means = fold_scores(self, task, m0).mean()
            gib = greater_is_better(m0)
            order = sorted(order, key=lambda c: (not finite(means.get(c)), -(means.get(c, 0) if gib else -means.get(c, 0)) if finite(means.get(c)) else 0))
        scores = {m: {c: spread(fold_scores(self, task, m).get(c, pd.Series(dtype=float))) for c in order} for m in metrics}
        df = self.table.df[self.table.df["task"] == task]
        n_ok = {}
        for c in order:
            grp = df[df["candidate"] == c]
            n_ok[c] = int((grp["state"] == "ok").sum()) if "state" in grp else 0
        return TaskScores(metrics=metrics, candidates=order, scores=scores, n_ok=n_ok)

    @functools.cached_property
    def budget_rank_table(self) -> pd.DataFrame:
        """Candidates × budgets mean ranks, best at the full budget first."""
        piv = self.budget.pivot(index="candidate", columns="budget", values="mean_rank").reindex(
            index=[c for c in self.candidates if c in set(self.budget["candidate"])])
        return piv.sort_values(piv.columns[-1], kind="stable")

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
    suite = manifest.get("suite", {})
    n_folds = int(suite.get("folds", 0) or 0) * int(suite.get("repeats", 1) or 1)
    a = Analysis(table=table, manifest=manifest, records=records, candidates=candidates, tasks=tasks, metrics=metrics, alpha=alpha, n_folds=n_folds)
    _missing(a)
    _ranking(a)
    for t in tasks:
        _per_task(a, t)
    _curves(a)
    return a


def _missing(a: Analysis) -> None:
    done = {job_key(r) for r in a.jobs}
    a.expected_jobs = len(a.tasks) * len(a.candidates) * a.n_folds
    a.missing_jobs = [(t, c, k) for t in a.tasks for c in a.candidates for k in range(a.n_folds) if (t, c, k) not in done]


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
        a.test_orders = curves.shuffled_test_curves(a.records, a.metrics)
        a.variants = curves.variant_summary(curves.variant_scores(a.records, a.metrics))
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
