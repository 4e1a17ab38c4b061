"""Arena statistics, as TabArena computes them: Elo, win rate, improvability, harmonic mean rank.

Everything here reads one frame of outer-test scores, ``folds``: index = (task, fold), columns =
candidates, cells oriented so that greater is better, NaN where the job failed or is missing.

- **Elo**: a Bradley–Terry maximum-likelihood fit on every pairwise (task, fold) outcome: the
  candidate with the higher score wins, equal scores tie, a missing score loses to any score (two
  missing ones tie).  A tie counts half a win for each side.  ``P(i beats j) = 1 / (1 +
  10^((R_j − R_i) / 400))``.  A vanishing ridge (:data:`RIDGE`, a Gaussian prior on the
  natural-log strengths) keeps the rating of a candidate that never wins finite.  The scale is
  anchored at 1000 on a named reference candidate (random_forest, else dummy, else the first).
  95 % confidence intervals: percentile bootstrap over tasks (all folds of a drawn task go in
  together), :data:`N_BOOT` resamples.
- **Win rate**: the share of pairwise (task, fold) comparisons won, ties counting half.
- **Improvability**: per task, on the mean score over folds as an error
  (:func:`benchmark.metrics.error_of`), ``(error − best error) / error``: how much of its error
  the candidate would lose by switching to the best on that task (0 = the best); a task whose
  best error is 0 is left out.  Mean over tasks with a bootstrap-over-tasks 95 % CI.
- **Harmonic mean rank**: per task rank of the mean score (1 = best, ties averaged, missing
  last), then ``n / Σ 1/rank`` — it rewards being first somewhere more than the mean rank does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ELO_SCALE = 400.0 / math.log(10.0)  # Elo points per unit of natural-log strength
ANCHOR = 1000.0
REFERENCES = ("random_forest", "dummy")
RIDGE = 1e-2
N_BOOT = 200
SEED = 0


@dataclass(frozen=True)
class ArenaTable:
    """The arena statistics of a run: ``frame`` (one row per candidate, best Elo first) and the
    reference candidate the Elo scale is anchored on."""

    frame: pd.DataFrame  # candidate, elo, elo_low, elo_high, win_rate, improvability, impr_low, impr_high, hmr, never_won
    reference: str
    n_tasks: int
    n_boot: int


def reference_candidate(candidates: Sequence[str]) -> str:
    """random_forest when it is present, else dummy, else the first candidate."""
    for r in REFERENCES:
        if r in candidates:
            return r
    return candidates[0]


def pairwise_wins(folds: pd.DataFrame) -> np.ndarray:
    """Per task, the k × k matrix of wins of row over column (ties half): shape (tasks, k, k)."""
    tasks = list(dict.fromkeys(folds.index.get_level_values(0)))
    out = np.zeros((len(tasks), folds.shape[1], folds.shape[1]))
    for i, t in enumerate(tasks):
        x = folds.xs(t, level=0).to_numpy(float)
        filled = np.where(np.isnan(x), -np.inf, x)
        a, b = filled[:, :, None], filled[:, None, :]
        out[i] = (a > b).sum(axis=0) + 0.5 * (a == b).sum(axis=0)
        np.fill_diagonal(out[i], 0.0)
    return out


def _nll(wins: np.ndarray, theta: np.ndarray, ridge: float) -> float:
    d = theta[:, None] - theta[None, :]
    return float(np.sum(wins * np.logaddexp(0.0, -d))) + 0.5 * ridge * float(theta @ theta)


def bradley_terry(wins: np.ndarray, *, ridge: float = RIDGE, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """Natural-log strengths maximising ``Σ w_ij log σ(θ_i − θ_j) − ridge/2 · Σ θ²`` (Newton's
    method with a backtracking line search; the objective is strictly convex)."""
    k = wins.shape[0]
    theta = np.zeros(k)
    n = wins + wins.T
    f = _nll(wins, theta, ridge)
    for _ in range(max_iter):
        d = theta[:, None] - theta[None, :]
        p = 1.0 / (1.0 + np.exp(-d))  # σ(d_ij)
        s = wins * (1.0 - p)  # w_ij σ(−d_ij)
        grad = -(s.sum(axis=1) - s.sum(axis=0)) + ridge * theta
        c = n * p * (1.0 - p)
        hess = np.diag(c.sum(axis=1)) - c + ridge * np.eye(k)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            new = theta - t * step
            f_new = _nll(wins, new, ridge)
            if f_new <= f - 1e-4 * t * float(grad @ step) or t < 1e-8:
                break
            t /= 2
        theta, f = new, f_new
        if float(np.max(np.abs(t * step))) < tol:
            break
    return theta - theta.mean()


def elo(wins: np.ndarray, ref: int, *, ridge: float = RIDGE) -> np.ndarray:
    """Elo ratings from a k × k win matrix, the candidate at index ``ref`` at :data:`ANCHOR`."""
    theta = bradley_terry(wins, ridge=ridge)
    return ANCHOR + ELO_SCALE * (theta - theta[ref])


def harmonic_mean_rank(task_means: pd.DataFrame) -> pd.Series:
    """``n / Σ 1/rank`` over tasks (rank 1 = best; ties averaged; missing ranks last)."""
    ranks = task_means.rank(axis=1, ascending=False, method="average", na_option="bottom")
    return len(ranks) / (1.0 / ranks).sum(axis=0)


def improvability(task_errors: pd.DataFrame) -> pd.DataFrame:
    """Tasks × candidates ``(error − best error) / error``; NaN where missing, and on a task whose
    best error is 0 (a perfect score), where any other candidate's gap would read 100 %."""
    best = task_errors.min(axis=1)
    err = task_errors.astype(float).copy()
    err.loc[~best.gt(0)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return err.sub(best, axis=0).div(err)


def arena_table(folds: pd.DataFrame, task_errors: pd.DataFrame, *, n_boot: int = N_BOOT, seed: int = SEED,
                reference: str | None = None) -> ArenaTable:
    """Elo with bootstrap CIs, win rate, improvability with CIs and harmonic mean rank.

    ``folds``: (task, fold) × candidates oriented scores; ``task_errors``: tasks × candidates mean
    error (lower is better) of the same scores, NaN where unusable.
    """
    cands = list(folds.columns)
    ref_name = reference or reference_candidate(cands)
    ref = cands.index(ref_name)
    per_task = pairwise_wins(folds)
    total = per_task.sum(axis=0)
    ratings = elo(total, ref)
    n_t = per_task.shape[0]
    n_boot = n_boot if n_t > 1 else 0  # a bootstrap over one task says nothing
    rng = np.random.default_rng(seed)
    boot = np.full((n_boot, len(cands)), np.nan)
    impr = improvability(task_errors.reindex(columns=cands))
    impr_boot = np.full((n_boot, len(cands)), np.nan)
    for b in range(n_boot):
        draw = rng.integers(0, n_t, n_t)
        boot[b] = elo(per_task[draw].sum(axis=0), ref)
        if len(impr):
            impr_boot[b] = impr.iloc[draw % len(impr)].mean(axis=0).to_numpy(float)
    comparisons = total + total.T
    win_rate = total.sum(axis=1) / np.where(comparisons.sum(axis=1) > 0, comparisons.sum(axis=1), np.nan)
    task_means = folds.groupby(level=0, sort=False).mean()
    hmr = harmonic_mean_rank(task_means.reindex(columns=cands))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a candidate with no finite resample: NaN bounds
        lo, hi = (np.nanpercentile(boot, q, axis=0) if n_boot else np.full(len(cands), np.nan) for q in (2.5, 97.5))
        ilo, ihi = (np.nanpercentile(impr_boot, q, axis=0) if n_boot and len(impr) else np.full(len(cands), np.nan) for q in (2.5, 97.5))
    frame = pd.DataFrame({
        "candidate": cands, "elo": ratings, "elo_low": lo, "elo_high": hi, "win_rate": win_rate,
        "improvability": impr.mean(axis=0).reindex(cands).to_numpy(float) if len(impr) else np.nan,
        "improvability_low": ilo, "improvability_high": ihi, "harmonic_mean_rank": hmr.reindex(cands).to_numpy(float),
        "never_won": total.sum(axis=1) == 0,
    }).sort_values("elo", ascending=False, kind="stable").reset_index(drop=True)
    return ArenaTable(frame=frame, reference=ref_name, n_tasks=n_t, n_boot=n_boot)
