"""Learning and tuning curves, worker side: what the worker needs to compute one job's curve records.

:func:`learning_subsample` (nested, seeded, stratified subsets of the outer training rows),
:func:`budget_checkpoints` and :func:`best_so_far_numbers` (which configuration would have been
chosen after ``b`` trials).  The worker (:mod:`benchmark.run.worker`) stores per job::

    learning_curve: [{fraction, n_train, test: {metric: v}, train: {metric: v}}, ...]
                    (a point whose fit failed has ``error``; one too small to fit has ``skipped``)
    budget_curve:   [{trials: b, trial_number, test: {metric: v}}, ...]
    epoch_history:  [{epoch, train_loss, valid_loss, ...}, ...]   (neural nets, when they report it)

The report reads these records back into tidy frames in :mod:`benchmark.report.curves`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Budget checkpoints 1, 2, 5, 10, 20, 50, … (then the full budget is added).
_STEPS = (1, 2, 5)
MIN_ROWS_PER_CLASS = 2
MIN_ROWS = 5


class TooSmall(ValueError):
    """A learning-curve fraction leaves too few rows (or too few of some class) to fit."""


def subsample_seed(fold_hash: str) -> int:
    """Seed of a fold's learning-curve subsamples: the same for every candidate (paired curves)."""
    return int(fold_hash[:8], 16) if fold_hash else 0


def learning_subsample(y: np.ndarray, fraction: float, *, seed: int, classification: bool) -> np.ndarray:
    """Sorted positions (into ``y``) of a seeded subsample holding ``fraction`` of the rows.

    Classification subsamples are stratified: each class keeps ``round(fraction · n_class)`` rows.
    Subsamples of one ``seed`` are nested (the 10 % subset lies inside the 20 % one) because every
    fraction takes a prefix of the same per-class permutation.  Raises :class:`TooSmall` when a
    class would keep fewer than ``MIN_ROWS_PER_CLASS`` rows or the subsample fewer than
    ``MIN_ROWS``.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    y = np.asarray(y)
    n = len(y)
    rng = np.random.default_rng(seed)
    if not classification:
        perm = rng.permutation(n)
        k = int(math.floor(fraction * n + 0.5))
        if k < MIN_ROWS:
            raise TooSmall(f"{k} rows (fewer than {MIN_ROWS})")
        return np.sort(perm[:k])
    parts = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        perm = idx[rng.permutation(len(idx))]
        k = int(math.floor(fraction * len(idx) + 0.5))
        if k < MIN_ROWS_PER_CLASS:
            raise TooSmall(f"{k} row(s) of class {cls} (fewer than {MIN_ROWS_PER_CLASS})")
        parts.append(perm[:k])
    out = np.sort(np.concatenate(parts))
    if len(out) < MIN_ROWS:
        raise TooSmall(f"{len(out)} rows (fewer than {MIN_ROWS})")
    return out


def budget_checkpoints(n_trials: int) -> list[int]:
    """Trial counts at which the budget curve is evaluated: 1, 2, 5, 10, 20, 50, … ≤ n, and n."""
    if n_trials < 1:
        return []
    out: list[int] = []
    scale = 1
    while scale <= n_trials:
        out.extend(s * scale for s in _STEPS if s * scale <= n_trials)
        scale *= 10
    if out[-1] != n_trials:
        out.append(n_trials)
    return out


def best_so_far_numbers(trials: Sequence[Mapping[str, Any]], greater_is_better: bool) -> list[int | None]:
    """For b = 1..len(trials): the number of the trial the tuner would pick after b trials.

    Same rule as the tuner: the best mean inner score among completed trials, ties to the earlier
    trial; ``None`` while no trial has completed.
    """
    out: list[int | None] = []
    best_num: int | None = None
    best_val = -math.inf
    for t in trials:
        v = t.get("value")
        if t.get("state") == "ok" and v is not None and math.isfinite(float(v)):
            o = float(v) if greater_is_better else -float(v)
            if best_num is None or o > best_val:
                best_num, best_val = int(t.get("number", len(out))), o
        out.append(best_num)
    return out
