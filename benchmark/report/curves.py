"""Learning and tuning curves, report side: tidy DataFrames built from a run's records.

:func:`learning_curves`, :func:`learning_curve_summary`, :func:`tuning_curves`,
:func:`tuning_curve_summary`, :func:`budget_scores`, :func:`budget_ranks` and
:func:`epoch_histories` read the curve fields the worker stores per job (their layout is
described in :mod:`benchmark.run.curves`); :func:`best_so_far` and :func:`shuffled_best_so_far`
are the running-best curves of a job's trials.

Scores in these frames are in the metric's own units (``greater_is_better`` says which way is
better), except the ``*_summary`` frames, which are normalised per task to [0, 1] (1 = best) so
that tasks with different metrics can be averaged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import greater_is_better
from benchmark.results.records import latest_jobs


def _oriented(values: Sequence[float | None], greater_is_better: bool) -> np.ndarray:
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=float)
    return v if greater_is_better else -v


def best_so_far(values: Sequence[float | None], greater_is_better: bool) -> np.ndarray:
    """Running best of ``values`` in their units (NaN until the first finite value)."""
    o = _oriented(values, greater_is_better)
    filled = np.where(np.isnan(o), -np.inf, o)
    run = np.maximum.accumulate(filled) if len(filled) else filled
    run = np.where(np.isneginf(run), np.nan, run)
    return run if greater_is_better else -run


def shuffled_best_so_far(values: Sequence[float | None], greater_is_better: bool, *, n_shuffles: int = 20, seed: int = 0) -> np.ndarray:
    """Expected running best when the trials come in random order (mean over ``n_shuffles`` orders).

    As in the tabular-benchmark literature (Grinsztajn et al. 2022), this estimates what a
    random search over the same configurations would reach after n trials, independent of the
    order the sampler happened to use.
    """
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=float)
    if len(v) == 0:
        return v
    rng = np.random.default_rng(seed)
    curves = np.vstack([best_so_far(v[rng.permutation(len(v))], greater_is_better) for _ in range(n_shuffles)])
    counts = (~np.isnan(curves)).sum(axis=0)
    sums = np.nansum(curves, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan, int(len(v))


def learning_curves(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str]) -> pd.DataFrame:
    """Mean and sd over outer folds of the learning-curve points, per (task, candidate, fraction).

    ``metrics``: task → metric to read (usually the tuning metric).  Columns: task, candidate,
    fraction, metric, greater_is_better, n_train (mean rows fitted), test_mean, test_sd,
    train_mean, train_sd, n_folds (points with a score), n_failed (points whose fit failed),
    n_skipped (points too small to fit).
    """
    acc: dict[tuple[str, str, float], dict[str, list[Any]]] = {}
    for r in latest_jobs(records):
        if r.get("state") != "ok" or r.get("task") not in metrics:
            continue
        m = metrics[r["task"]]
        for p in r.get("learning_curve") or []:
            key = (r["task"], r["candidate"], float(p["fraction"]))
            a = acc.setdefault(key, {"test": [], "train": [], "n": [], "failed": [], "skipped": []})
            if p.get("skipped"):
                a["skipped"].append(1)
                continue
            if p.get("error"):
                a["failed"].append(1)
                continue
            a["test"].append(_num((p.get("test") or {}).get(m)))
            a["train"].append(_num((p.get("train") or {}).get(m)))
            a["n"].append(p.get("n_train"))
    rows = []
    for (task, cand, frac), a in acc.items():
        tm, ts, nf = _mean_sd(a["test"])
        rm, rs, _ = _mean_sd(a["train"])
        rows.append({
            "task": task, "candidate": cand, "fraction": frac, "metric": metrics[task],
            "greater_is_better": greater_is_better(metrics[task]),
            "n_train": float(np.mean([x for x in a["n"] if x is not None])) if a["n"] else math.nan,
            "test_mean": tm, "test_sd": ts, "train_mean": rm, "train_sd": rs, "n_folds": nf,
            "n_failed": len(a["failed"]), "n_skipped": len(a["skipped"]),
        })
    cols = ["task", "candidate", "fraction", "metric", "greater_is_better", "n_train", "test_mean", "test_sd",
            "train_mean", "train_sd", "n_folds", "n_failed", "n_skipped"]
    return pd.DataFrame(rows, columns=cols).sort_values(["task", "candidate", "fraction"], kind="stable").reset_index(drop=True)


def _num(x: Any) -> float:
    try:
        return float(x) if x is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _normalise_per_task(frame: pd.DataFrame, value: str) -> pd.Series:
    """Per task, rescale ``value`` (metric units) to [0, 1]: 0 = the worst value in the task, 1 = the best."""
    out = pd.Series(np.nan, index=frame.index)
    for _, grp in frame.groupby("task", sort=False):
        gib = bool(grp["greater_is_better"].iloc[0])
        o = grp[value] if gib else -grp[value]
        lo, hi = o.min(), o.max()
        if not np.isfinite(lo) or not np.isfinite(hi):
            continue
        out.loc[grp.index] = 1.0 if hi == lo else (o - lo) / (hi - lo)
    return out


def learning_curve_summary(lc: pd.DataFrame) -> pd.DataFrame:
    """The suite in one picture: per candidate and fraction, the normalised test score averaged over tasks.

    Per task, mean test scores of every candidate at every fraction are rescaled to [0, 1]
    (0 = the worst mean seen on that task, 1 = the best).  Columns: candidate, fraction, mean,
    min, max (over tasks), n_tasks.
    """
    if lc.empty:
        return pd.DataFrame(columns=["candidate", "fraction", "mean", "min", "max", "n_tasks"])
    lc = lc.assign(norm=_normalise_per_task(lc, "test_mean"))
    g = lc.dropna(subset=["norm"]).groupby(["candidate", "fraction"], sort=False)["norm"]
    out = g.agg(["mean", "min", "max", "count"]).reset_index().rename(columns={"count": "n_tasks"})
    return out.sort_values(["candidate", "fraction"], kind="stable").reset_index(drop=True)


def tuning_curves(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str], *, n_shuffles: int = 20, seed: int = 0) -> pd.DataFrame:
    """Best-so-far inner validation score vs trial number, per (task, candidate, trial).

    For every job the running best of its trials' mean inner scores (in trial order) and its
    expectation over ``n_shuffles`` random trial orders; then mean and sd over outer folds.
    Columns: task, candidate, trial (1-based count), metric, greater_is_better, mean, sd,
    shuffled_mean, shuffled_sd, n_folds.  A fold whose tuning stopped early (seconds cap) carries
    its last best forward.
    """
    per: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for r in latest_jobs(records):
        trials = r.get("trials") or []
        if not trials or r.get("task") not in metrics:
            continue
        m = metrics[r["task"]]
        gib = greater_is_better(m)
        vals = [t.get("value") if t.get("state") == "ok" else None for t in sorted(trials, key=lambda t: t.get("number", 0))]
        s = seed + int(r.get("fold", 0) or 0)
        per.setdefault((r["task"], r["candidate"]), []).append(
            (best_so_far(vals, gib), shuffled_best_so_far(vals, gib, n_shuffles=n_shuffles, seed=s))
        )
    rows = []
    for (task, cand), curves in per.items():
        m = metrics[task]
        n = max(len(c[0]) for c in curves)
        ordered = np.vstack([_pad(c[0], n) for c in curves])
        shuffled = np.vstack([_pad(c[1], n) for c in curves])
        for i in range(n):
            a, b = _mean_sd(ordered[:, i].tolist()), _mean_sd(shuffled[:, i].tolist())
            rows.append({"task": task, "candidate": cand, "trial": i + 1, "metric": m, "greater_is_better": greater_is_better(m),
                         "mean": a[0], "sd": a[1], "shuffled_mean": b[0], "shuffled_sd": b[1], "n_folds": a[2]})
    cols = ["task", "candidate", "trial", "metric", "greater_is_better", "mean", "sd", "shuffled_mean", "shuffled_sd", "n_folds"]
    return pd.DataFrame(rows, columns=cols)


def _pad(curve: np.ndarray, n: int) -> np.ndarray:
    """Extend a running-best curve to length ``n`` by carrying its last value forward."""
    if len(curve) >= n:
        return curve[:n]
    last = curve[-1] if len(curve) else np.nan
    return np.concatenate([curve, np.full(n - len(curve), last)])


def tuning_curve_summary(tc: pd.DataFrame, *, shuffled: bool = False) -> pd.DataFrame:
    """Per candidate and trial count, the best-so-far inner score normalised per task, averaged over tasks.

    Normalisation per task over all candidates and trial counts (0 = the worst, 1 = the best).
    Columns: candidate, trial, mean, min, max, n_tasks.
    """
    col = "shuffled_mean" if shuffled else "mean"
    if tc.empty:
        return pd.DataFrame(columns=["candidate", "trial", "mean", "min", "max", "n_tasks"])
    tc = tc.assign(norm=_normalise_per_task(tc, col))
    g = tc.dropna(subset=["norm"]).groupby(["candidate", "trial"], sort=False)["norm"]
    return g.agg(["mean", "min", "max", "count"]).reset_index().rename(columns={"count": "n_tasks"})


def budget_scores(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str]) -> pd.DataFrame:
    """Mean outer-test score per (task, candidate, budget) of the configuration chosen after ``budget`` trials.

    Budgets are the union of every job's checkpoints; a job evaluated at fewer trials (a seconds
    cap, or nothing to tune) contributes its point with the largest ``trials`` ≤ the budget.
    Columns: task, candidate, budget, metric, greater_is_better, mean, n_folds.
    """
    jobs = [r for r in latest_jobs(records) if r.get("state") == "ok" and r.get("budget_curve") and r.get("task") in metrics]
    budgets = sorted({int(p["trials"]) for r in jobs for p in r["budget_curve"]})
    acc: dict[tuple[str, str, int], list[float]] = {}
    for r in jobs:
        m = metrics[r["task"]]
        pts = sorted((int(p["trials"]), _num((p.get("test") or {}).get(m))) for p in r["budget_curve"] if not p.get("error"))
        for b in budgets:
            upto = [v for t, v in pts if t <= b]
            if upto:
                acc.setdefault((r["task"], r["candidate"], b), []).append(upto[-1])
    rows = []
    for (task, cand, b), vals in acc.items():
        mean, _, n = _mean_sd(vals)
        rows.append({"task": task, "candidate": cand, "budget": b, "metric": metrics[task], "greater_is_better": greater_is_better(metrics[task]),
                     "mean": mean, "n_folds": n})
    return pd.DataFrame(rows, columns=["task", "candidate", "budget", "metric", "greater_is_better", "mean", "n_folds"])


def budget_ranks(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str], candidates: Sequence[str]) -> pd.DataFrame:
    """The ranking recomputed at smaller budgets: mean rank over tasks per (budget, candidate).

    At each budget, per task, candidates are ranked by the mean outer-test score of the
    configuration they would have chosen after that many trials (1 = best, ties averaged, a
    candidate with no result ranks last — the same rule as the leaderboard).  At the full budget
    this equals the leaderboard's mean rank.  Columns: budget, candidate, mean_rank, n_tasks.
    """
    bs = budget_scores(records, metrics)
    if bs.empty:
        return pd.DataFrame(columns=["budget", "candidate", "mean_rank", "n_tasks"])
    rows = []
    cands = list(candidates) or sorted(bs["candidate"].unique())
    for b, grp in bs.groupby("budget", sort=True):
        o = np.where(grp["greater_is_better"], grp["mean"], -grp["mean"])
        block = grp.assign(o=o).pivot(index="task", columns="candidate", values="o").reindex(columns=cands)
        block = block[block.notna().any(axis=1)]
        if block.empty:
            continue
        ranks = block.rank(axis=1, ascending=False, method="average", na_option="bottom")
        for c in cands:
            rows.append({"budget": int(b), "candidate": c, "mean_rank": float(ranks[c].mean()), "n_tasks": int(block[c].notna().sum())})
    return pd.DataFrame(rows, columns=["budget", "candidate", "mean_rank", "n_tasks"])


def epoch_histories(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Every recorded epoch of every final fit: task, candidate, fold, epoch, and the logged losses.

    Reads the ``epoch_history`` field (``[{epoch, train_loss, valid_loss, ...}]``) that neural
    candidates record; other records contribute nothing.
    """
    rows = []
    for r in latest_jobs(records):
        for i, e in enumerate(r.get("epoch_history") or []):
            if not isinstance(e, Mapping):
                continue
            row = {"task": r.get("task"), "candidate": r.get("candidate"), "fold": r.get("fold"), "epoch": e.get("epoch", i + 1)}
            row.update({k: _num(v) for k, v in e.items() if k != "epoch"})
            rows.append(row)
    return pd.DataFrame(rows)
