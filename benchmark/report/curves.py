"""Learning and tuning curves, report side: tidy DataFrames built from a run's records.

:func:`learning_curves`, :func:`learning_curve_summary`, :func:`tuning_curves`,
:func:`tuning_curve_summary`, :func:`budget_scores`, :func:`budget_ranks` and
:func:`epoch_histories` read the curve fields the worker stores per job (their layout is
described in :mod:`benchmark.run.curves`); :func:`best_so_far` and :func:`shuffled_best_so_far`
are the running-best curves of a job's trials.  From a ``final: bag`` run, whose trials carry
their outer-test scores, :func:`shuffled_test_curves` (test score over random trial orders, with
bands) and :func:`variant_scores` / :func:`variant_summary` (default / tuned / tuned +
ensembled per candidate) need no fit either.

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


def budget_scores(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str], *, post_hoc: str = "final") -> pd.DataFrame:
    """Mean outer-test score per (task, candidate, budget) of the configuration chosen after ``budget`` trials.

    Budgets are the union of every job's checkpoints (every trial count for a ``final: bag``
    run); a job evaluated at fewer trials (a seconds cap, or nothing to tune) contributes its
    point with the largest ``trials`` ≤ the budget.  ``post_hoc="final"``: a post-hoc ensemble
    (no trials of its own; its library is the others' full budgets) enters every budget with its
    job's outer-test score — the rule that keeps every budget's candidates those of the
    leaderboard; ``post_hoc="skip"`` leaves it out.  Columns: task, candidate, budget, metric,
    greater_is_better, mean, n_folds.
    """
    latest = [r for r in latest_jobs(records) if r.get("state") == "ok" and r.get("task") in metrics]
    jobs = [r for r in latest if r.get("budget_curve") and not r.get("post_hoc")]
    held = [r for r in latest if r.get("post_hoc")] if post_hoc == "final" else []
    budgets = sorted({int(p["trials"]) for r in jobs for p in r["budget_curve"]})
    acc: dict[tuple[str, str, int], list[float]] = {}
    for r in jobs:
        m = metrics[r["task"]]
        pts = sorted((int(p["trials"]), _num((p.get("test") or {}).get(m))) for p in r["budget_curve"] if not p.get("error"))
        for b in budgets:
            upto = [v for t, v in pts if t <= b]
            if upto:
                acc.setdefault((r["task"], r["candidate"], b), []).append(upto[-1])
    for r in held:
        for b in budgets:
            acc.setdefault((r["task"], r["candidate"], b), []).append(_num(r.get(f"test_{metrics[r['task']]}")))
    rows = []
    for (task, cand, b), vals in acc.items():
        mean, _, n = _mean_sd(vals)
        rows.append({"task": task, "candidate": cand, "budget": b, "metric": metrics[task], "greater_is_better": greater_is_better(metrics[task]),
                     "mean": mean, "n_folds": n})
    return pd.DataFrame(rows, columns=["task", "candidate", "budget", "metric", "greater_is_better", "mean", "n_folds"])


def checkpoints(budgets: Iterable[int]) -> list[int]:
    """The budgets a ranking table shows: those of 1, 2, 5, 10, 20, 50, … present, and the largest."""
    have = sorted({int(b) for b in budgets})
    if not have:
        return []
    keep = [b for b in have if str(b).rstrip("0") in ("1", "2", "5")]
    return keep + ([have[-1]] if not keep or keep[-1] != have[-1] else [])


def budget_ranks(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str], candidates: Sequence[str]) -> pd.DataFrame:
    """The ranking recomputed at smaller budgets: mean rank over tasks per (budget, candidate).

    At each budget (:func:`checkpoints` of :func:`budget_scores`'s), per task, the candidates
    of the leaderboard — ``candidates``, post-hoc ensembles included, held at their final score
    (see :func:`budget_scores`) — are ranked by the mean outer-test score of the configuration
    they would have chosen after that many trials (1 = best, ties averaged, a candidate with no
    result ranks last — the leaderboard's rule).  At the full budget this is the leaderboard's
    mean rank.  Columns: budget, candidate, mean_rank, n_tasks.
    """
    bs = budget_scores(records, metrics)
    if bs.empty:
        return pd.DataFrame(columns=["budget", "candidate", "mean_rank", "n_tasks"])
    rows = []
    cands = list(candidates) or sorted(bs["candidate"].unique())
    bs = bs[bs["budget"].isin(checkpoints(bs["budget"]))]
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


def _trial_tests(r: Mapping[str, Any], m: str) -> tuple[list[float | None], list[float]]:
    """A ``bag`` job's trials in order: inner scores (None when not ok) and outer-test scores of ``m``."""
    trials = sorted(r.get("trials") or [], key=lambda t: t.get("number", 0))
    inner = [t.get("value") if t.get("state") == "ok" and t.get("test") else None for t in trials]
    return inner, [_num((t.get("test") or {}).get(m)) for t in trials]


def chosen_test(inner: Sequence[float | None], test: Sequence[float], order: Sequence[int], gib: bool) -> np.ndarray:
    """Outer-test score of the trial the tuner would pick after 1, 2, … trials taken in ``order``
    (best inner score so far, ties to the earlier in the order; NaN until one completed)."""
    out = np.full(len(order), np.nan)
    best, best_v = None, -math.inf
    for i, j in enumerate(order):
        v = inner[j]
        if v is not None and math.isfinite(float(v)) and (best is None or (float(v) if gib else -float(v)) > best_v):
            best, best_v = j, float(v) if gib else -float(v)
        if best is not None:
            out[i] = test[best]
    return out


def shuffled_test_curves(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str], *, n_orders: int = 20, seed: int = 0,
                         band: tuple[float, float] = (10.0, 90.0)) -> pd.DataFrame:
    """Outer-test score against the trial count over ``n_orders`` random trial orders, with bands.

    For every ``final: bag`` job (its trials carry ``test`` scores; no fit is made here) and every
    order (permutations seeded by ``seed`` + fold, the same for every candidate), the test score
    of the trial chosen after b trials; per order, the mean over outer folds; then, over the
    orders, the mean and the ``band`` percentiles.  Columns: task, candidate, trial, metric,
    greater_is_better, mean, lo, hi, n_folds.
    """
    per: dict[tuple[str, str], list[np.ndarray]] = {}
    for r in latest_jobs(records):
        if r.get("state") != "ok" or r.get("task") not in metrics or not any(t.get("test") for t in r.get("trials") or []):
            continue
        m = metrics[r["task"]]
        inner, test = _trial_tests(r, m)
        rng = np.random.default_rng(seed + int(r.get("fold", 0) or 0))
        curves = np.vstack([chosen_test(inner, test, rng.permutation(len(inner)), greater_is_better(m)) for _ in range(n_orders)])
        per.setdefault((r["task"], r["candidate"]), []).append(curves)
    rows = []
    for (task, cand), jobs in per.items():
        n = max(c.shape[1] for c in jobs)
        stack = np.stack([np.vstack([_pad(row, n) for row in c]) for c in jobs])  # folds × orders × trials
        with np.errstate(all="ignore"):
            by_order = np.nanmean(stack, axis=0)  # orders × trials
        for i in range(n):
            col = by_order[:, i][np.isfinite(by_order[:, i])]
            rows.append({"task": task, "candidate": cand, "trial": i + 1, "metric": metrics[task], "greater_is_better": greater_is_better(metrics[task]),
                         "mean": float(col.mean()) if len(col) else math.nan,
                         "lo": float(np.percentile(col, band[0])) if len(col) else math.nan,
                         "hi": float(np.percentile(col, band[1])) if len(col) else math.nan,
                         "n_folds": len(jobs)})
    cols = ["task", "candidate", "trial", "metric", "greater_is_better", "mean", "lo", "hi", "n_folds"]
    return pd.DataFrame(rows, columns=cols)


#: The three numbers TabArena reports per model, in its order.
VARIANTS = ("default", "tuned", "tuned_ensembled")


def variant_scores(records: Iterable[Mapping[str, Any]], metrics: Mapping[str, str]) -> pd.DataFrame:
    """Default / tuned / tuned + ensembled outer-test score per (task, candidate), mean over folds.

    From ``final: bag`` records only (no fit): *default* is trial 0's bagged test score, *tuned*
    the job's (the chosen trial's), *tuned_ensembled* the record's ``tuned_ensembled`` (greedy
    selection over the candidate's own trials, see :mod:`benchmark.run.tuned_ensemble`).
    Columns: task, candidate, variant, metric, greater_is_better, mean, n_folds.
    """
    acc: dict[tuple[str, str, str], list[float]] = {}
    for r in latest_jobs(records):
        if r.get("state") != "ok" or r.get("final") != "bag" or r.get("post_hoc") or r.get("task") not in metrics:
            continue
        m = metrics[r["task"]]
        first = next((t for t in r.get("trials") or [] if t.get("number") == 0), {})
        values = {"default": (first.get("test") or {}).get(m), "tuned": r.get(f"test_{m}"),
                  "tuned_ensembled": ((r.get("tuned_ensembled") or {}).get("test") or {}).get(m)}
        for variant, v in values.items():
            if v is not None:
                acc.setdefault((r["task"], r["candidate"], variant), []).append(_num(v))
    rows = []
    for (task, cand, variant), vals in acc.items():
        mean, _, n = _mean_sd(vals)
        rows.append({"task": task, "candidate": cand, "variant": variant, "metric": metrics[task],
                     "greater_is_better": greater_is_better(metrics[task]), "mean": mean, "n_folds": n})
    return pd.DataFrame(rows, columns=["task", "candidate", "variant", "metric", "greater_is_better", "mean", "n_folds"])


def variant_summary(vs: pd.DataFrame) -> pd.DataFrame:
    """Every (candidate, variant) as one method, as TabArena ranks them: per task, ranked among
    all of them (1 = best, ties averaged, a missing one last) and rescaled to [0, 1] (1 = best);
    averaged over tasks.  Columns: candidate, variant, mean_rank, normalised, n_tasks."""
    cols = ["candidate", "variant", "mean_rank", "normalised", "n_tasks"]
    if vs.empty:
        return pd.DataFrame(columns=cols)
    vs = vs.assign(method=list(zip(vs["candidate"], vs["variant"], strict=True)), norm=_normalise_per_task(vs, "mean"))
    o = np.where(vs["greater_is_better"], vs["mean"], -vs["mean"])
    block = vs.assign(o=o).pivot(index="task", columns="method", values="o")
    ranks = block.rank(axis=1, ascending=False, method="average", na_option="bottom")
    norm = vs.pivot(index="task", columns="method", values="norm")
    rows = [{"candidate": c, "variant": v, "mean_rank": float(ranks[(c, v)].mean()), "normalised": float(norm[(c, v)].mean()),
             "n_tasks": int(block[(c, v)].notna().sum())} for c, v in block.columns]
    rows.sort(key=lambda r: (r["mean_rank"], str(r["candidate"]), VARIANTS.index(r["variant"]) if r["variant"] in VARIANTS else len(VARIANTS)))
    return pd.DataFrame(rows, columns=cols)


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
