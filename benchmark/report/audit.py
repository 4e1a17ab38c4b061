"""The report's audit numbers, computed from the latest job records: budget and cost per
candidate, the equal-budget and shared-splits verdicts, what the post-hoc ensembles bought, and
the failures grouped for reading.

Pure functions of the records (and the suite's budget); :class:`~benchmark.report.analysis.Analysis`
calls them and the sections only render what they return.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.metrics import METRICS, greater_is_better
from benchmark.report.markup import finite
from benchmark.results.records import model_fits

Record = Mapping[str, Any]


@dataclass(frozen=True)
class CandidateCost:
    """What one candidate spent over all its jobs (sums, or means over its completed jobs)."""

    candidate: str
    n_ok: int  # completed jobs
    post_hoc: bool  # an ensemble built after tuning (no trials of its own)
    trials: list[int]  # trials run per completed job
    trials_total: int  # trials over all its jobs
    failed_trials: int
    model_fits: int  # tuning fits + final refits
    base_fits: int  # the same fits counted in base models
    curve_fits: int
    cpu_seconds: float  # tuning, refit and scoring
    curve_cpu_seconds: float
    gpu_seconds: float
    tune_seconds: float  # total
    fit_seconds: float  # mean over completed jobs (NaN if none)
    predict_seconds: float  # mean over completed jobs (NaN if none)
    rounds: float = math.nan  # boosting rounds of the final refits, mean over completed jobs (NaN: not a booster)
    rounds_range: tuple[int, int] | None = None  # fewest and most rounds any of its fits kept, tuning fits included
    fits_saved: int = 0  # fits ``final: bag`` did not make that ``refit`` would have (final and budget-curve refits)


@dataclass(frozen=True)
class PostHocSummary:
    """How a post-hoc ensemble spent its budget, over the folds where it completed."""

    candidate: str
    library: list[str]  # the candidates whose trials it selected from
    library_size: float  # configurations in the library (mean over folds)
    refits: float  # distinct configurations chosen and refitted (mean over folds)
    n_beat_best: int  # folds where the selection beat its best single member on validation
    n_folds: int
    #: library members the selection's screen dropped, by reason (mean per fold; records that
    #: predate the screen have none)
    excluded: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PostHocGain:
    """A post-hoc ensemble's mean outer-test score on a task next to the best single candidate's."""

    candidate: str
    task: str
    metric: str
    ensemble: float
    best: str  # best other candidate by mean outer-test score (hindsight)
    best_score: float
    gain: float  # ensemble minus best, oriented so that positive is better
    weights: list[tuple[str, float]]  # the four largest mean selection weights, largest first


@dataclass(frozen=True)
class Audit:
    """Everything the fairness section shows."""

    budget: int  # trials per candidate per outer fold
    costs: list[CandidateCost]
    any_gpu: bool
    any_base: bool  # base-model fits differ from model fits somewhere
    short: list[str]  # candidates that ran fewer trials than the budget on some completed fold
    one_config: list[str]  # of those: ran one configuration everywhere (nothing to tune)
    fold_hashes: bool  # the records carry fold hashes at all
    same_splits: bool  # every (task, fold) has one fold hash across candidates
    post_hoc: list[PostHocSummary] = field(default_factory=list)
    gains: list[PostHocGain] = field(default_factory=list)
    final: str = "refit"  # the suite's ``final``: "refit" or "bag"

    @property
    def fits_saved(self) -> int:
        """Fits ``final: bag`` saved over ``refit`` (0 in a refit run)."""
        return sum(k.fits_saved for k in self.costs)

    @property
    def any_rounds(self) -> bool:
        """Some candidate recorded boosting rounds (an early-stopped booster)."""
        return any(k.rounds_range for k in self.costs)

    @property
    def fewer_trials(self) -> list[str]:
        """Candidates short of the budget for another reason (seconds cap, failed trials)."""
        return [c for c in self.short if c not in self.one_config]


def audit(jobs: Sequence[Record], candidates: Sequence[str], tasks: Sequence[str], manifest: Mapping[str, Any]) -> Audit:
    """Budget, cost and split checks per candidate, and the post-hoc ensembles' summaries."""
    budget = int(manifest.get("suite", {}).get("trials", 0) or 0)
    post_hoc = {j["candidate"] for j in jobs if j.get("post_hoc")}
    costs = [_cost(c, [j for j in jobs if j.get("candidate") == c], c in post_hoc) for c in candidates]
    short = [k.candidate for k in costs if k.n_ok and min(k.trials) < budget and not k.post_hoc]
    one_config = [c for c in short if all(int(j.get("n_trials") or 0) == 1 for j in jobs if j.get("candidate") == c and j.get("state") == "ok")]
    per_fold: dict[tuple[Any, Any], set[str]] = {}
    for j in jobs:
        if j.get("fold_hash"):
            per_fold.setdefault((j.get("task"), j.get("fold")), set()).add(j["fold_hash"])
    summaries = [s for c in sorted(post_hoc) if (s := _post_hoc_summary(c, jobs)) is not None]
    return Audit(
        budget=budget, costs=costs,
        any_gpu=any(j.get("gpu_seconds") for j in jobs),
        any_base=any(j.get("n_base_fits") is not None and int(j["n_base_fits"]) != model_fits(j) for j in jobs),
        short=short, one_config=one_config,
        fold_hashes=bool(per_fold), same_splits=all(len(v) == 1 for v in per_fold.values()),
        post_hoc=summaries,
        gains=post_hoc_gains(jobs, post_hoc, tasks, manifest) if summaries else [],
        final=str(manifest.get("suite", {}).get("final") or "refit"),
    )


def _cost(c: str, js: list[Record], post_hoc: bool) -> CandidateCost:
    ok = [j for j in js if j.get("state") == "ok"]
    fit_s = [float(j["fit_seconds"]) for j in ok if finite(j.get("fit_seconds"))]
    pred_s = [float(j["predict_seconds"]) for j in ok if finite(j.get("predict_seconds"))]
    refit_rounds = [int(j["rounds"]) for j in ok if j.get("rounds") is not None]
    every = refit_rounds + [int(r) for j in js for t in (j.get("trials") or []) for r in (t.get("rounds") or [])]
    return CandidateCost(
        candidate=c, n_ok=len(ok), post_hoc=post_hoc,
        trials=[int(j.get("n_trials") or 0) for j in ok],
        trials_total=sum(len(j.get("trials") or []) for j in js),
        failed_trials=sum(1 for j in js for t in (j.get("trials") or []) if t.get("state") != "ok"),
        model_fits=sum(model_fits(j) for j in js),
        base_fits=sum(int(j.get("n_base_fits") or 0) for j in js),
        curve_fits=sum(int(j.get("curve_fits") or 0) for j in js),
        cpu_seconds=sum(float(j.get("cpu_seconds") or 0) - float(j.get("curve_cpu_seconds") or 0) for j in js),
        curve_cpu_seconds=sum(float(j.get("curve_cpu_seconds") or 0) for j in js),
        gpu_seconds=sum(float(j.get("gpu_seconds") or 0) for j in js),
        tune_seconds=sum(float(j.get("tune_seconds") or 0) for j in js),
        fit_seconds=np.mean(fit_s) if fit_s else math.nan,
        predict_seconds=np.mean(pred_s) if pred_s else math.nan,
        rounds=float(np.mean(refit_rounds)) if refit_rounds else math.nan,
        rounds_range=(min(every), max(every)) if every else None,
        fits_saved=sum(int(j.get("fits_saved") or 0) for j in js),
    )


def _post_hoc_summary(c: str, jobs: Sequence[Record]) -> PostHocSummary | None:
    ens = [j["ensemble"] for j in jobs if j.get("candidate") == c and j.get("state") == "ok" and j.get("ensemble")]
    if not ens:
        return None
    return PostHocSummary(
        candidate=c,
        library=sorted({n for e in ens for n in e.get("library", {})}),
        library_size=float(np.mean([e.get("library_size", 0) for e in ens])),
        refits=float(np.mean([len(e.get("members", [])) for e in ens])),
        n_beat_best=len([1 for e in ens if e.get("val_score") != e.get("best_single", {}).get("score")]),
        n_folds=len(ens),
        excluded={r: float(np.mean([(e.get("excluded") or {}).get(r, 0) for e in ens]))
                  for r in sorted({r for e in ens for r in (e.get("excluded") or {})})},
    )


def post_hoc_gains(jobs: Sequence[Record], post_hoc: Iterable[str], tasks: Sequence[str], manifest: Mapping[str, Any]) -> list[PostHocGain]:
    """Per post-hoc candidate and task: its mean outer-test score against the best single
    candidate's (picked with hindsight), and the candidates its selection weighted most."""
    post_hoc = set(post_hoc)
    out = []
    for c in sorted(post_hoc):
        for task in tasks:
            metric = manifest.get("tasks", {}).get(task, {}).get("metric")
            if metric not in METRICS:
                continue
            gain = _gain(c, task, metric, jobs, post_hoc)
            if gain is not None:
                out.append(gain)
    return out


def _gain(c: str, task: str, metric: str, jobs: Sequence[Record], post_hoc: set[str]) -> PostHocGain | None:
    col = f"test_{metric}"
    by_cand: dict[str, list[float]] = {}
    for j in jobs:
        if j.get("task") == task and j.get("state") == "ok" and finite(j.get(col)):
            by_cand.setdefault(j["candidate"], []).append(float(j[col]))
    if c not in by_cand:
        return None
    singles = {k: float(np.mean(v)) for k, v in by_cand.items() if k not in post_hoc}
    if not singles:
        return None
    sign = 1.0 if greater_is_better(metric) else -1.0
    best = max(singles, key=lambda k: sign * singles[k])
    ens = float(np.mean(by_cand[c]))
    weights: dict[str, float] = {}
    folds = [j["ensemble"] for j in jobs if j.get("candidate") == c and j.get("task") == task and j.get("ensemble")]
    for e in folds:
        for m in e.get("members", []):
            weights[m["candidate"]] = weights.get(m["candidate"], 0.0) + float(m["weight"]) / len(folds)
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:4]
    return PostHocGain(candidate=c, task=task, metric=metric, ensemble=ens, best=best, best_score=singles[best],
                       gain=sign * (ens - singles[best]), weights=top)


# ---------------------------------------------------------------------------------------------
# failures


def failure_groups(failed: Iterable[Record]) -> dict[tuple[str, str], list[Record]]:
    """Failed jobs grouped by (candidate, ``[error kind] error``), in first-seen order."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in failed:
        kind = f"[{r['error_kind']}] " if r.get("error_kind") else ""  # model | timeout | crash | infrastructure
        groups.setdefault((str(r.get("candidate")), kind + str(r.get("error", ""))), []).append(r)
    return groups


def trial_failures(jobs: Iterable[Record]) -> dict[str, list[str]]:
    """Candidate -> the first line of each failed tuning trial's error."""
    out: dict[str, list[str]] = {}
    for r in jobs:
        for t in r.get("trials") or []:
            if t.get("state") != "ok":
                out.setdefault(r["candidate"], []).append((t.get("error") or "unknown error").splitlines()[0])
    return out


def curve_failures(jobs: Iterable[Record]) -> dict[tuple[str, str], list[str]]:
    """(candidate, which curve and why) -> one reason per curve point that was not fitted."""
    out: dict[tuple[str, str], list[str]] = {}
    for r in jobs:
        for p in r.get("learning_curve") or []:
            if p.get("error") or p.get("skipped"):
                kind = ("learning curve (timed out)" if p.get("timeout") else "learning curve (fit failed)") if p.get("error") else "learning curve (too few rows, skipped)"
                out.setdefault((r["candidate"], kind), []).append(f"{100 * p['fraction']:g} %: {p.get('error') or p.get('skipped')}")
        for p in r.get("budget_curve") or []:
            if p.get("error"):
                out.setdefault((r["candidate"], "budget curve"), []).append(str(p["error"]))
    return out


def most_common(messages: Iterable[str]) -> tuple[str, int]:
    """The most frequent message and how often it occurs (ties: the first seen)."""
    (msg, n), = Counter(messages).most_common(1)
    return msg, n


def missing_by_pair(missing: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str], list[int]]:
    """(task, candidate) -> its outer folds without a record."""
    by: dict[tuple[str, str], list[int]] = {}
    for t, c, k in missing:
        by.setdefault((t, c), []).append(k)
    return by
