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
