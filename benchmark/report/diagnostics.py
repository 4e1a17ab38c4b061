"""Aggregates behind the report's diagnostic tables, from the stored records (no refitting).

- :func:`tradeoff_table`: accuracy against cost per candidate — the score, the median over jobs
  of the final refit's seconds, of the prediction seconds per 1,000 rows and of the pickled
  model's bytes — with the Pareto-optimal candidates marked for each cost.
- :func:`overtuning_table`: per candidate, the share of (task, fold) jobs whose tuned
  configuration scored worse on the outer test fold than the default configuration (trial 1,
  read from the budget curve's first point), and the mean gap between the best inner-validation
  score and the outer-test score (positive = the inner score was optimistic).
- :func:`policy_sensitivity`: the ranking under each missing-result policy of ``stats.rank``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import error_of, greater_is_better

log = logging.getLogger(__name__)

COSTS = ("train_seconds", "predict_ms_per_1k")


def pareto(score: pd.Series, cost: pd.Series) -> pd.Series:
    """Whether each entry is Pareto-optimal: no other has a score at least as high and a cost at
    least as low, one of them strictly (missing values are never optimal)."""
    ok = score.notna() & cost.notna()
    out = pd.Series(False, index=score.index)
    for i in score.index[ok]:
        s, c = score[i], cost[i]
        others = ok & (score.index != i)
        dominated = others & (score >= s) & (cost <= c) & ((score > s) | (cost < c))
        out[i] = not dominated.any()
    return out


def tradeoff_table(jobs: Sequence[dict[str, Any]], score: pd.Series) -> pd.DataFrame:
    """Candidate × (score, train_seconds, predict_ms_per_1k, model_bytes, pareto_train, pareto_predict).

    ``score``: candidate → the leaderboard's score (greater is better); costs are medians over
    the candidate's completed jobs.
    """
    rows: dict[str, dict[str, list[float]]] = {}
    for j in jobs:
        if j.get("state") != "ok":
            continue
        r = rows.setdefault(str(j.get("candidate")), {"fit": [], "pred": [], "size": []})
        if _num(j.get("fit_seconds")):
            r["fit"].append(float(j["fit_seconds"]))
        if _num(j.get("predict_seconds")) and _num(j.get("n_test")) and float(j["n_test"]) > 0:
            r["pred"].append(1000.0 * 1000.0 * float(j["predict_seconds"]) / float(j["n_test"]))
        if _num(j.get("model_bytes")):
            r["size"].append(float(j["model_bytes"]))
    cands = [c for c in score.index if c in rows]
    med = lambda v: float(np.median(v)) if v else math.nan  # noqa: E731
    df = pd.DataFrame({
        "candidate": cands,
        "score": [float(score[c]) for c in cands],
        "train_seconds": [med(rows[c]["fit"]) for c in cands],
        "predict_ms_per_1k": [med(rows[c]["pred"]) for c in cands],
        "model_bytes": [med(rows[c]["size"]) for c in cands],
    }).set_index("candidate")
    for cost, flag in zip(COSTS, ("pareto_train", "pareto_predict"), strict=True):
        df[flag] = pareto(df["score"], df[cost])
    return df.reset_index()


def _num(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def default_test_score(job: dict[str, Any], metric: str) -> float:
    """The default configuration's outer-test score: the budget curve's one-trial point, or the
    job's own score when the default was the configuration chosen; NaN when unknown."""
    for p in job.get("budget_curve") or []:
        if p.get("trials") == 1 and isinstance(p.get("test"), dict) and _num(p["test"].get(metric)):
            return float(p["test"][metric])
    if job.get("best_trial") == 0 and _num(job.get(f"test_{metric}")):
        return float(job[f"test_{metric}"])
    return math.nan


def overtuning_table(jobs: Sequence[dict[str, Any]], metrics: dict[str, str], candidates: Sequence[str]) -> pd.DataFrame:
    """Per candidate: jobs compared, share where tuned < default on test, mean relative inner − test error gap.

    Scores are oriented (greater is better) so that "worse" and a positive gap mean the same for
    every metric; candidates that tuned nothing (one trial) are left out.
    """
    acc: dict[str, dict[str, list[float]]] = {}
    for j in jobs:
        task, c = j.get("task"), str(j.get("candidate"))
        m = metrics.get(task)
        if j.get("state") != "ok" or not m or int(j.get("n_trials") or 0) < 2:
            continue
        sign = 1.0 if greater_is_better(m) else -1.0
        test = j.get(f"test_{m}")
        r = acc.setdefault(c, {"worse": [], "gap": []})
        d = default_test_score(j, m)
        if _num(test) and math.isfinite(d):
            r["worse"].append(float(sign * float(test) < sign * d - 1e-12))
        if _num(test) and _num(j.get("best_inner_score")):
            # as errors, relative to the test error, so that tasks in different units average
            e_test, e_inner = error_of(m, float(test)), error_of(m, float(j["best_inner_score"]))
            if math.isfinite(e_test) and math.isfinite(e_inner) and e_test > 0:
                r["gap"].append((e_test - e_inner) / e_test)
    rows = [{"candidate": c, "jobs": len(acc[c]["worse"]), "worse_than_default": float(np.mean(acc[c]["worse"])) if acc[c]["worse"] else math.nan,
             "inner_test_gap": float(np.mean(acc[c]["gap"])) if acc[c]["gap"] else math.nan, "gap_jobs": len(acc[c]["gap"])}
            for c in candidates if c in acc]
    return pd.DataFrame(rows, columns=["candidate", "jobs", "worse_than_default", "inner_test_gap", "gap_jobs"])


@dataclass(frozen=True)
class PolicySensitivity:
    """Mean ranks under each missing-result policy and whether the conclusions move."""

    ranks: pd.DataFrame  # candidate × policy mean rank
    leaders: dict[str, str]  # policy -> leader
    significant: dict[str, frozenset[tuple[str, str]]]  # policy -> significant (better, worse) pairs
    baseline: str
    notes: dict[str, str]  # policy -> why it could not be computed

    @property
    def leader_changes(self) -> bool:
        return len(set(self.leaders.values())) > 1

    @property
    def pairs_change(self) -> bool:
        return len({v for v in self.significant.values()}) > 1


def policy_sensitivity(block: pd.DataFrame, *, baseline: str, alpha: float) -> PolicySensitivity:
    """Rank ``block`` (tasks × candidates, greater is better, NaN = missing) under drop, last and baseline."""
    from benchmark import stats

    ranks, leaders, sig, notes = {}, {}, {}, {}
    for policy in ("drop", "last", "baseline"):
        try:
            r = stats.rank(block, greater_is_better=True, alpha=alpha, missing=policy, baseline=baseline if policy == "baseline" else None,
                           n_boot=0, bayes_samples=0)
        except Exception as exc:  # e.g. dropping leaves fewer than two tasks
            notes[policy] = str(exc)
            continue
        ranks[policy] = pd.Series(dict(r.mean_ranks))
        leaders[policy] = r.candidates[0]
        sig[policy] = frozenset((p.a, p.b) if _a_better(r, p) else (p.b, p.a) for p in r.pairwise if p.reject)
    frame = pd.DataFrame(ranks).reindex(index=list(block.columns))
    return PolicySensitivity(frame, leaders, sig, baseline, notes)


def _a_better(r: Any, p: Any) -> bool:
    return r.mean_ranks[p.a] <= r.mean_ranks[p.b]
