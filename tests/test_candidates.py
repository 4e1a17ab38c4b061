"""Every registered candidate fits and predicts on binary, multiclass and regression data with
categorical columns and missing values; preprocessing is fitted on training rows only."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from benchmark.candidates import Schema, build_estimator, default_config, get_spec, registry
from benchmark.candidates.outputs import predict_output
from benchmark.candidates.spaces import contains, narrow, validate_space
from benchmark.errors import InputError
from benchmark.testing import make_frame

CLASSICAL = ["dummy", "linear", "knn", "svm", "random_forest", "extra_trees", "hist_gb", "xgboost", "lightgbm", "catboost"]


def _schema(X, kind, k):
    cats = tuple(c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype))
    return Schema(kind, categorical=cats, numeric=tuple(c for c in X.columns if c not in cats), n_classes=k)


def test_registry_has_the_classical_candidates_with_valid_spaces():
    reg = registry()
    assert set(CLASSICAL) <= set(reg)
    for name in CLASSICAL:
        spec = reg[name]
        for kind in ("binary", "regression"):
            validate_space(spec.space_for(kind))
            assert spec.space_for(kind), f"{name} has nothing to tune for {kind}"
    # learning rates are searched on a log scale, as in the literature
    for name in ("hist_gb", "xgboost", "lightgbm", "catboost"):
        assert reg[name].space_for("binary")["learning_rate"]["log"] is True
    assert reg["svm"].space_for("binary")["C"]["log"] and reg["svm"].space_for("binary")["gamma"]["log"]


def test_unknown_candidate_suggests_close_names():
    with pytest.raises(InputError, match="did you mean random_forest"):
        get_spec("random_forrest")


@pytest.mark.parametrize("name", CLASSICAL)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_candidate_fits_and_predicts(name, kind):
    rng = np.random.default_rng(0)
    X = make_frame(150)
    if kind == "regression":
        y, k = X["x1"].fillna(0).to_numpy() * 2 + rng.normal(size=150), 0
    else:
        k = 2 if kind == "binary" else 3
        y = (rng.integers(0, k, 150) + (X["x1"] > 0.5).astype(int)) % k
        y = np.asarray(y, dtype=np.int64)
    schema = _schema(X, kind, k)
    est = build_estimator(default_config(name), schema, {}, seed=0)
    est.fit(X.iloc[:120], y[:120])
    test = X.iloc[120:].copy()
    test.loc[test.index[0], "color"] = np.nan  # missing category at predict time
    out = predict_output(est, test, schema)
    if kind == "regression":
        assert out.shape == (30,) and np.isfinite(out).all()
    else:
        assert out.shape == (30, k)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    clone(est)  # scikit-learn compatible: clone-able


def test_preprocessing_is_fitted_on_training_rows_only():
    X = make_frame(200, missing=False)
    y = np.asarray((X["x0"] > 0).astype(int))
    schema = _schema(X, "binary", 2)
    est = build_estimator(default_config("linear"), schema, {}, seed=0)
    est.fit(X.iloc[:100], y[:100])
    scaler = est.named_steps["prep"].named_transformers_["num"][-1]
    num = [c for c in X.columns if c != "color"]
    np.testing.assert_allclose(scaler.mean_[: len(num)], X.iloc[:100][num].mean().to_numpy(), atol=1e-12)
    # an unseen category at predict time is not an error
    Z = X.iloc[100:110].copy()
    Z["color"] = Z["color"].cat.add_categories(["never-seen"])
    Z.loc[Z.index[0], "color"] = "never-seen"
    assert est.predict_proba(Z).shape == (10, 2)


def test_suite_params_reach_the_estimator():
    X = make_frame(80)
    schema = _schema(X, "binary", 2)
    est = build_estimator(default_config("random_forest"), schema, {"max_depth": 3, "min_samples_leaf": 5}, seed=3)
    model = est.named_steps["model"]
    assert (model.max_depth, model.min_samples_leaf, model.n_estimators, model.random_state) == (3, 5, 200, 3)


def test_space_narrowing_rules():
    space = validate_space({"C": {"type": "float", "low": 1e-3, "high": 10, "log": True}, "k": {"type": "categorical", "choices": [1, 2, 3]}})
    new, fixed = narrow(space, {"C": {"high": 1.0}, "k": 2})
    assert new["C"]["high"] == 1.0 and new["C"]["log"] and "k" not in new and fixed == {"k": 2}
    with pytest.raises(InputError, match="outside the original range"):
        narrow(space, {"C": {"high": 100.0}})
    with pytest.raises(InputError, match="log-scale range needs low > 0"):
        validate_space({"a": {"type": "float", "low": 0, "high": 1, "log": True}})
    assert contains(new, {"C": 0.5}) and not contains(new, {"C": 5.0})
