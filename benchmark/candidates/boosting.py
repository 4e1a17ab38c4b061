"""Gradient-boosted trees: scikit-learn HistGB, XGBoost, LightGBM, CatBoost.

Spaces follow the ranges used by Grinsztajn et al. (2022), Shwartz-Ziv & Armon (2022) and
McElfresh et al. (2023): learning rate on a log scale, tree size (depth or leaves), minimum
child weight/size, row and column subsampling, and L1/L2 regularisation on log scales. The
number of boosting rounds is fixed per family so every trial costs about the same.
The heavy libraries are imported inside the factories, never at module import.
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
from benchmark.candidates.spaces import int_range, log_float, uniform_float


def make_hist_gb(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = HistGradientBoostingClassifier if schema.is_classification else HistGradientBoostingRegressor
    mask = [True] * len(schema.categorical) + [False] * len(schema.numeric)
    model = cls(random_state=seed, categorical_features=mask if any(mask) else None, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), model)


def make_xgboost(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import xgboost as xgb

    cls = xgb.XGBClassifier if schema.is_classification else xgb.XGBRegressor
    model = cls(tree_method="hist", n_jobs=n_threads, random_state=seed, verbosity=0, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), model)


def make_lightgbm(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if schema.is_classification else lgb.LGBMRegressor
    model = cls(n_jobs=n_threads, random_state=seed, verbose=-1, **params)
    return pipeline(ordinal_preprocessor(schema, impute=False), model)


def make_catboost(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    import catboost as cb

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
    return pipeline(ordinal_preprocessor(schema, impute=False, pandas=True), model)


_HIST_SPACE = {
    "learning_rate": log_float(0.01, 0.5),
    "max_leaf_nodes": int_range(4, 128, log=True),
    "min_samples_leaf": int_range(2, 128, log=True),
    "l2_regularization": log_float(1e-6, 10.0),
    "max_features": uniform_float(0.3, 1.0),
}
_XGB_SPACE = {
    "learning_rate": log_float(0.005, 0.5),
    "max_depth": int_range(2, 10),
    "min_child_weight": log_float(0.5, 64.0),
    "subsample": uniform_float(0.5, 1.0),
    "colsample_bytree": uniform_float(0.4, 1.0),
    "reg_lambda": log_float(1e-4, 10.0),
    "reg_alpha": log_float(1e-4, 10.0),
}
_LGBM_SPACE = {
    "learning_rate": log_float(0.005, 0.5),
    "num_leaves": int_range(4, 128, log=True),
    "min_child_samples": int_range(2, 100, log=True),
    "subsample": uniform_float(0.5, 1.0),
    "colsample_bytree": uniform_float(0.4, 1.0),
    "reg_lambda": log_float(1e-4, 10.0),
    "reg_alpha": log_float(1e-4, 10.0),
}
_CAT_SPACE = {
    "learning_rate": log_float(0.005, 0.5),
    "depth": int_range(3, 8),
    "l2_leaf_reg": log_float(0.5, 30.0),
    "random_strength": log_float(1e-3, 10.0),
    "bagging_temperature": uniform_float(0.0, 1.0),
}


SPECS = [
    CandidateSpec(
        name="hist_gb",
        family="boosting",
        factory=make_hist_gb,
        description="scikit-learn HistGradientBoosting, native categoricals, early stopping on large data",
        fixed={"max_iter": 200},
        spaces=both_kinds(_HIST_SPACE),
    ),
    CandidateSpec(
        name="xgboost",
        family="boosting",
        factory=make_xgboost,
        description="XGBoost (hist), 200 rounds, ordinal-encoded categoricals",
        fixed={"n_estimators": 200},
        spaces=both_kinds(_XGB_SPACE),
    ),
    CandidateSpec(
        name="lightgbm",
        family="boosting",
        factory=make_lightgbm,
        description="LightGBM, 200 rounds, ordinal-encoded categoricals, row subsampling every round",
        fixed={"n_estimators": 200, "subsample_freq": 1},
        spaces=both_kinds(_LGBM_SPACE),
    ),
    CandidateSpec(
        name="catboost",
        family="boosting",
        factory=make_catboost,
        description="CatBoost, 200 iterations, native categorical handling (ordered target statistics)",
        fixed={"iterations": 200},
        spaces=both_kinds(_CAT_SPACE),
    ),
]
