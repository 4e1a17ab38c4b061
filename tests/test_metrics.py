"""Metrics agree with independent computations (numpy formulas, scikit-learn)."""

import numpy as np
import pytest
from sklearn import metrics as skm

from benchmark.errors import InputError
from benchmark.metrics import METRICS, get_metric, score_all


def test_binary_metrics_match_formulas():
    y = np.array([0, 0, 1, 1, 1, 0])
    p1 = np.array([0.1, 0.6, 0.8, 0.4, 0.9, 0.2])
    proba = np.column_stack([1 - p1, p1])
    s = score_all("binary", y, proba, 2)
    pred = (p1 > 0.5).astype(int)
    assert s["accuracy"] == pytest.approx(np.mean(pred == y))
    # AUC by counting concordant positive/negative pairs
    pos, neg = p1[y == 1], p1[y == 0]
    auc = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    assert s["roc_auc"] == pytest.approx(auc)
    assert s["log_loss"] == pytest.approx(-np.mean(np.log(np.where(y == 1, p1, 1 - p1))))
    assert s["balanced_accuracy"] == pytest.approx(np.mean([np.mean(pred[y == c] == c) for c in (0, 1)]))


def test_multiclass_roc_auc_ovr_and_missing_class_in_fold():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    proba = rng.dirichlet(np.ones(3), 60)
    s = score_all("multiclass", y, proba, 3)
    assert s["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert s["f1_macro"] == pytest.approx(skm.f1_score(y, proba.argmax(1), average="macro"))
    # a fold holding only classes 0 and 2 still gets a defined AUC; a one-class fold gets NaN
    y2 = np.array([0, 2, 0, 2, 2])
    assert np.isfinite(score_all("multiclass", y2, proba[:5], 3)["roc_auc"])
    assert np.isnan(score_all("binary", np.ones(4, int), np.full((4, 2), 0.5), 2)["roc_auc"])


def test_regression_metrics_match_formulas():
    y = np.array([3.0, -0.5, 2.0, 7.0])
    pred = np.array([2.5, 0.0, 2.0, 8.0])
    s = score_all("regression", y, pred, 0)
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean((y - pred) ** 2)))
    assert s["mae"] == pytest.approx(np.mean(np.abs(y - pred)))
    assert s["r2"] == pytest.approx(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def test_directions_and_unknown_metric():
    assert not METRICS["log_loss"].greater_is_better and not METRICS["rmse"].greater_is_better
    assert METRICS["roc_auc"].oriented(0.7) == 0.7 and METRICS["rmse"].oriented(2.0) == -2.0
    with pytest.raises(InputError, match="unknown metric 'auc'.*roc_auc"):
        get_metric("auc")


def test_roc_auc_equals_scikit_learn_with_ties_and_missing_classes():
    """Our rank-based ROC AUC (fast enough for ensemble selection) against sklearn.metrics.roc_auc_score."""
    from sklearn.metrics import roc_auc_score

    from benchmark.metrics import get_metric

    fn = get_metric("roc_auc").fn
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(200):
        n, k = int(rng.integers(8, 150)), int(rng.integers(2, 6))
        y = rng.integers(0, k, n)
        p = np.round(rng.random((n, k)), 1) + 1e-3  # rounded: many ties
        p /= p.sum(axis=1, keepdims=True)
        present = np.unique(y)
        if present.size < 2:
            assert np.isnan(fn(y, p, k))
            continue
        if k == 2:
            ref = roc_auc_score(y, p[:, 1])
        elif present.size < k:
            sub = p[:, present] / p[:, present].sum(axis=1, keepdims=True)
            ref = roc_auc_score(y == present[1], sub[:, 1]) if present.size == 2 else roc_auc_score(y, sub, multi_class="ovr", labels=present)
        else:
            ref = roc_auc_score(y, p, multi_class="ovr", labels=np.arange(k))
        assert fn(y, p, k) == pytest.approx(ref, abs=1e-12)
        checked += 1
    assert checked > 150
