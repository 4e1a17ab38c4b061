"""Bagging, AdaBoost, voting and stacking candidates."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from benchmark.candidates import Schema, build_estimator, default_config
from benchmark.candidates.ensembles import count_base_fits
from benchmark.testing import make_frame

warnings.filterwarnings("ignore")


def _data(kind, n=160, seed=0):
    X = make_frame(n, seed)
    rng = np.random.default_rng(seed)
    k = {"binary": 2, "multiclass": 3, "regression": 0}[kind]
    signal = X["x1"].fillna(0).to_numpy()
    y = signal * 2 + rng.normal(size=n) if not k else ((signal > 0).astype(int) + (rng.random(n) < 0.2)) % k
    schema = Schema(kind, categorical=("color",), numeric=tuple(c for c in X.columns if c != "color"), n_classes=k)
    return X, np.asarray(y), schema


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize(
    "name,params",
    [
        ("bagging", {}),
        ("bagging", {"base_learner": "knn"}),
        ("adaboost", {}),
        ("voting", {"members": ["random_forest", "svm", "mlp"]}),  # a tree, a kernel and a net
        ("stacking", {"members": ["hist_gb", "knn", "mlp"], "cv": 3}),
        ("stacking", {"members": ["linear", "knn"], "cv": 3, "passthrough": True}),
    ],
)
def test_ensembles_fit_and_predict(kind, name, params):
    X, y, schema = _data(kind)
    est = build_estimator(default_config(name), schema, params, seed=0)
    est.fit(X.iloc[:120], y[:120])
    test = X.iloc[120:]
    if schema.is_classification:
        p = est.predict_proba(test)
        assert p.shape == (40, schema.n_classes)
        np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
        assert (est.predict(test) == y[120:]).mean() > 0.55
    else:
        pred = est.predict(test)
        assert np.corrcoef(pred, y[120:])[0, 1] > 0.5
    clone(est)
    assert count_base_fits(est) >= 2


def test_stacking_meta_learner_sees_out_of_fold_predictions_only():
    X, y, schema = _data("binary", n=200)
    est = build_estimator(default_config("stacking"), schema, {"members": ["linear", "knn"], "cv": 4, "final_C": 0.5}, seed=1)
    est.fit(X, y)
    # rebuild the meta-features independently: each member's out-of-fold probabilities
    members = [m for _, m in est.estimators]
    oof = [cross_val_predict(clone(m), X, y, cv=est.cv, method="predict_proba")[:, 1:] for m in members]
    meta = LogisticRegression(C=0.5, max_iter=2000).fit(np.hstack(oof), y)
    np.testing.assert_allclose(est.final_estimator_.coef_, meta.coef_, rtol=1e-4, atol=1e-6)
    # in-sample predictions would differ: the meta-learner did not see them
    insample = [clone(m).fit(X, y).predict_proba(X)[:, 1:] for m in members]
    assert not np.allclose(np.hstack(insample), np.hstack(oof))


def test_soft_vote_is_the_mean_of_member_probabilities():
    X, y, schema = _data("multiclass")
    est = build_estimator(default_config("voting"), schema, {"members": ["linear", "knn"]}, seed=0).fit(X, y)
    expected = np.mean([m.predict_proba(X) for m in est.estimators_], axis=0)
    np.testing.assert_allclose(est.predict_proba(X), expected)


def test_base_fit_counts():
    X, y, schema = _data("binary")
    bag = build_estimator(default_config("bagging"), schema, {"n_estimators": 7}, seed=0).fit(X, y)
    stack = build_estimator(default_config("stacking"), schema, {"members": ["linear", "knn"], "cv": 3}, seed=0).fit(X, y)
    single = build_estimator(default_config("linear"), schema, {}, seed=0).fit(X, y)
    assert count_base_fits(bag) == 7
    assert count_base_fits(stack) == 2 * (3 + 1) + 1  # members on each fold + refit, and the meta-learner
    assert count_base_fits(single) == 1
