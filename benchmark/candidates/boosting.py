"""Gradient-boosted trees: scikit-learn HistGB, XGBoost, LightGBM, CatBoost, all early-stopped.

As in TabArena, every booster trains up to a large cap of rounds (``max_rounds``, 10,000) and
stops early on a split carved from the rows of its own fit (:mod:`benchmark.candidates.early_stopping`:
the split, the adaptive patience, the rounds recorded). A suite sets ``max_rounds`` (or the
library's own ``n_estimators`` / ``iterations`` / ``max_iter``, read as the cap), ``patience`` (an
integer, or ``auto``), ``min_patience`` (the floor of the ``auto`` patience; ``auto``: AutoGluon's
300 rounds up to 10,000 rows), ``valid_fraction``, ``stopping_metric`` (``auto``: ROC AUC for binary tasks,
else the loss; or ``loss``) and ``rounds`` (exactly that many rounds on every row, no early
stopping) like any fixed parameter. The search spaces are TabArena's (see below); the learning
rate runs from 0.005 to 0.1, which early stopping makes safe at both ends. Tuning trials
early-stop; the final refit on the outer training rows trains, on every row, the rounds the chosen
configuration kept in its trial, scaled to the refit's rows (``refit_rounds``; the worker passes
``rounds``). The heavy libraries are imported inside the factories, never at module import.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from benchmark.candidates.base import (
    CandidateSpec,
    Schema,
    both_kinds,
    ordinal_preprocessor,
    pipeline,
)
from benchmark.candidates.early_stopping import EarlyStoppedClassifier, EarlyStoppedRegressor
from benchmark.candidates.spaces import int_range, log_float, uniform_float

#: The wrapper's own parameters; the rest go to the booster.
_ES_PARAMS = ("max_rounds", "patience", "min_patience", "valid_fraction", "stopping_metric", "rounds")


def _early_stopped(schema: Schema, model: BaseEstimator, es: dict[str, Any], *, seed: int) -> BaseEstimator:
    cls = EarlyStoppedClassifier if schema.is_classification else EarlyStoppedRegressor
    return cls(model, random_state=seed, **es)


def _split_params(params: dict[str, Any], rounds_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the booster's parameters, the early-stopping wrapper's: ``max_rounds``, ``patience``,
    ``valid_fraction``, ``early_stopping``). The library's own rounds parameter (``rounds_name``:
    ``n_estimators``, ``iterations``, ``max_iter``), when a suite gives it, is the cap."""
    es = {k: v for k, v in params.items() if k in _ES_PARAMS}
    if rounds_name in params:
        es["max_rounds"] = params[rounds_name]
    return {k: v for k, v in params.items() if k not in _ES_PARAMS and k != rounds_name}, es


def make_hist_gb(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    params, es = _split_params(params, "max_iter")
    cls = HistGradientBoostingClassifier if schema.is_classification else HistGradientBoostingRegressor
    mask = [True] * len(schema.categorical) + [False] * len(schema.numeric)
    model = cls(random_state=seed, categorical_features=mask if any(mask) else None, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), _early_stopped(schema, model, es, seed=seed))


def make_xgboost(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import xgboost as xgb

    params, es = _split_params(params, "n_estimators")
    cls = xgb.XGBClassifier if schema.is_classification else xgb.XGBRegressor
    model = cls(tree_method="hist", n_jobs=n_threads, random_state=seed, verbosity=0, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), _early_stopped(schema, model, es, seed=seed))


def make_lightgbm(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import lightgbm as lgb

    params, es = _split_params(params, "n_estimators")
    cls = lgb.LGBMClassifier if schema.is_classification else lgb.LGBMRegressor
    model = cls(n_jobs=n_threads, random_state=seed, verbose=-1, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), _early_stopped(schema, model, es, seed=seed))


def make_catboost(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import catboost as cb

    params, es = _split_params(params, "iterations")
    cls = cb.CatBoostClassifier if schema.is_classification else cb.CatBoostRegressor
    cat_idx = tuple(range(len(schema.categorical))) or None  # a tuple: catboost copies lists, which breaks clone()
    model = cls(
        thread_count=n_threads,
        random_seed=seed,
        verbose=0,
        allow_writing_files=False,
        cat_features=cat_idx,
        **params,
    )
    return pipeline(ordinal_preprocessor(schema, impute=False, pandas=True), _early_stopped(schema, model, es, seed=seed))


def _categorical(*choices: Any) -> dict[str, Any]:
    return {"type": "categorical", "choices": list(choices)}


# The spaces of TabArena (autogluon/tabarena, ``tabarena/models/*/hpo.py``) for early-stopped
# boosters, in each library's scikit-learn names. Left out: the parameters of native categorical
# handling for XGBoost and LightGBM (ours get ordinal-encoded categoricals).
_LR = log_float(5e-3, 0.1)
_XGB_SPACE = {
    "learning_rate": _LR,
    "max_depth": int_range(4, 10, log=True),
    "min_child_weight": log_float(1e-3, 5.0),
    "subsample": uniform_float(0.6, 1.0),
    "colsample_bylevel": uniform_float(0.6, 1.0),
    "colsample_bynode": uniform_float(0.6, 1.0),
    "reg_alpha": uniform_float(1e-4, 5.0),
    "reg_lambda": uniform_float(1e-4, 5.0),
    "grow_policy": _categorical("depthwise", "lossguide"),
    "max_leaves": int_range(8, 1024, log=True),
}
_LGBM_SPACE = {
    "learning_rate": _LR,
    "colsample_bytree": uniform_float(0.4, 1.0),  # feature_fraction
    "subsample": uniform_float(0.7, 1.0),  # bagging_fraction (subsample_freq is fixed at 1)
    "num_leaves": int_range(2, 200, log=True),
    "min_child_samples": int_range(1, 64, log=True),  # min_data_in_leaf
    "extra_trees": _categorical(False, True),
    "reg_alpha": uniform_float(1e-4, 1.0),  # lambda_l1
    "reg_lambda": uniform_float(1e-4, 2.0),  # lambda_l2
}
_CAT_SPACE = {
    "learning_rate": _LR,
    "bootstrap_type": _categorical("Bernoulli"),
    "subsample": uniform_float(0.7, 1.0),
    "grow_policy": _categorical("SymmetricTree", "Depthwise"),
    "depth": int_range(4, 8),
    "colsample_bylevel": uniform_float(0.85, 1.0),
    "l2_leaf_reg": log_float(1e-4, 5.0),
    "leaf_estimation_iterations": int_range(1, 20, log=True),
    "one_hot_max_size": int_range(8, 100, log=True),
    "model_size_reg": log_float(0.1, 1.5),
    "max_ctr_complexity": int_range(2, 5),
}
# TabArena has no HistGB; scikit-learn's HistGB is a LightGBM-like leaf-wise booster, so it gets
# the LightGBM space in HistGB's names.
_HIST_SPACE = {
    "learning_rate": _LR,
    "max_features": uniform_float(0.4, 1.0),
    "max_leaf_nodes": int_range(2, 200, log=True),
    "min_samples_leaf": int_range(1, 64, log=True),
    "l2_regularization": uniform_float(1e-4, 2.0),
}
#: Trial 0 (the default configuration) on top of each library's defaults: the cap on rounds and
#: the learning rates AutoGluon and TabArena use by default for early-stopped boosters.
_CAP = {"max_rounds": 10_000}

SPECS = [
    CandidateSpec(
        name="hist_gb",
        cost=1.0,
        family="boosting",
        factory=make_hist_gb,
        description="scikit-learn HistGradientBoosting, native categoricals, its own early stopping (up to 10,000 rounds)",
        fixed={**_CAP, "learning_rate": 0.1},
        spaces=both_kinds(_HIST_SPACE),
    ),
    CandidateSpec(
        name="xgboost",
        cost=1.3,
        family="boosting",
        factory=make_xgboost,
        description="XGBoost (hist), early-stopped (up to 10,000 rounds), ordinal-encoded categoricals",
        fixed={**_CAP, "learning_rate": 0.1},
        spaces=both_kinds(_XGB_SPACE),
    ),
    CandidateSpec(
        name="lightgbm",
        cost=0.8,
        family="boosting",
        factory=make_lightgbm,
        description="LightGBM, early-stopped (up to 10,000 rounds), ordinal-encoded categoricals, row subsampling every round",
        fixed={**_CAP, "learning_rate": 0.05, "subsample_freq": 1},
        spaces=both_kinds(_LGBM_SPACE),
    ),
    CandidateSpec(
        name="catboost",
        cost=2.5,
        family="boosting",
        factory=make_catboost,
        description="CatBoost, early-stopped (up to 10,000 rounds), native categorical handling (ordered target statistics)",
        fixed={**_CAP, "learning_rate": 0.05},
        spaces=both_kinds(_CAT_SPACE),
    ),
]
