"""Greedy ensemble selection never does worse on its validation predictions than its start."""

import numpy as np
import pytest

from benchmark.metrics import METRICS
from benchmark.run.ensembles import greedy_selection


def _library(seed, n=300, k=2, m=12):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    preds = []
    for _ in range(m):
        logits = rng.normal(size=(n, k)) + rng.uniform(0, 2) * np.eye(k)[y]
        p = np.exp(logits)
        preds.append(p / p.sum(axis=1, keepdims=True))
    return preds, y


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "accuracy"])
def test_never_worse_than_the_best_single_member(seed, metric):
    m = METRICS[metric]
    preds, y = _library(seed, k=3 if metric != "roc_auc" else 2)
    k = preds[0].shape[1]
    sel = greedy_selection(preds, y, m, n_classes=k, rounds=20)
    singles = [m.fn(y, p, k) for p in preds]
    best_single = max(singles) if m.greater_is_better else min(singles)
    assert sel.best_single_score == pytest.approx(best_single)
    assert m.oriented(sel.score) >= m.oriented(best_single) - 1e-12
    # the reported score is the score of the weighted average it returns
    avg = sum(w * preds[i] for i, w in sel.weights.items())
    assert m.fn(y, avg, k) == pytest.approx(sel.score)
    assert sum(sel.weights.values()) == pytest.approx(1.0)


def test_complementary_members_are_combined_for_regression():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    noise = rng.normal(size=500)
    a, b = y + noise, y - noise  # each is poor alone; their mean is exact
    sel = greedy_selection([a, b, y + 2 * rng.normal(size=500)], y, METRICS["rmse"], n_classes=0, rounds=10)
    assert set(sel.weights) == {0, 1} and sel.weights[0] == pytest.approx(0.5)
    assert sel.score == pytest.approx(0.0, abs=1e-12)
    assert sel.score < sel.best_single_score
