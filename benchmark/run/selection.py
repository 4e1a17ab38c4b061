"""Greedy ensemble selection with replacement (Caruana et al. 2004), as AutoML systems use it.

Input: out-of-fold (validation) predictions of a library of already-tried configurations on the
same rows. Start from the best single configuration; in each round add (with replacement) the
configuration whose addition gives the best validation score of the averaged prediction; keep
the best-scoring prefix. The result never scores worse on these validation predictions than the
best single configuration it started from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.metrics import Metric


@dataclass(frozen=True)
class Selection:
    """Chosen members (indices into the library, with repeats) and their weights."""

    members: tuple[int, ...]
    weights: dict[int, float]
    scores: tuple[float, ...]  # validation score after each round (round 0 = best single)
    best_single: int
    best_single_score: float
    score: float


def greedy_selection(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    *,
    n_classes: int,
    rounds: int = 25,
) -> Selection:
    """Select an ensemble from ``predictions`` (each (n,) or (n, k), aligned with ``y``).

    Returns the best prefix of ``rounds`` greedy additions; weights are counts / size.
    """
    if not predictions:
        raise ValueError("ensemble selection needs at least one prediction")
    preds = [np.asarray(p, dtype=float) for p in predictions]

    def score(p: np.ndarray) -> float:
        v = metric.fn(y, p, n_classes)
        return metric.oriented(v) if np.isfinite(v) else -np.inf

    singles = [score(p) for p in preds]
    best = int(np.argmax(singles))
    members = [best]
    total = preds[best].copy()
    history = [singles[best]]
    for _ in range(max(0, rounds - 1)):
        n = len(members)
        cand = [score((total + p) / (n + 1)) for p in preds]
        j = int(np.argmax(cand))
        members.append(j)
        total += preds[j]
        history.append(cand[j])
    size = int(np.argmax(history)) + 1  # first best prefix
    chosen = members[:size]
    counts = {i: chosen.count(i) for i in sorted(set(chosen))}
    weights = {i: c / size for i, c in counts.items()}
    sign = 1.0 if metric.greater_is_better else -1.0
    return Selection(
        members=tuple(chosen),
        weights=weights,
        scores=tuple(sign * h for h in history),
        best_single=best,
        best_single_score=sign * singles[best],
        score=sign * history[size - 1],
    )
