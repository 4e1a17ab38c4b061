"""Random forest and extra trees.

Spaces follow Probst et al. (2019, "Hyperparameters and tuning strategies for random forest")
and Grinsztajn et al. (2022): the fraction of features per split, minimum leaf size on a log
scale, maximum depth and bootstrapping. The number of trees is fixed (more is never worse, only
slower), so tuning spends its budget on the parameters that matter.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from benchmark.candidates.base import CandidateSpec, Schema, ordinal_preprocessor, pipeline


def make_random_forest(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = RandomForestClassifier if schema.is_classification else RandomForestRegressor
    return pipeline(ordinal_preprocessor(schema, impute=True), cls(random_state=seed, n_jobs=n_threads, **params))


def make_extra_trees(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = ExtraTreesClassifier if schema.is_classification else ExtraTreesRegressor
    return pipeline(ordinal_preprocessor(schema, impute=True), cls(random_state=seed, n_jobs=n_threads, **params))


_FOREST_SPACE = {
    "max_features": {"type": "float", "low": 0.05, "high": 1.0, "log": False},
    "min_samples_leaf": {"type": "int", "low": 1, "high": 32, "log": True},
    "max_depth": {"type": "categorical", "choices": [None, 4, 8, 16, 32]},
    "bootstrap": {"type": "categorical", "choices": [True, False]},
}
_CLASS_SPACE = {**_FOREST_SPACE, "criterion": {"type": "categorical", "choices": ["gini", "entropy"]}}

SPECS = [
    CandidateSpec(
        name="random_forest",
        cost=1.3,
        family="trees",
        factory=make_random_forest,
        description="Random forest (scikit-learn), 200 trees, ordinal-encoded categoricals",
        fixed={"n_estimators": 200},
        spaces={"classification": _CLASS_SPACE, "regression": _FOREST_SPACE},
    ),
    CandidateSpec(
        name="extra_trees",
        cost=1.0,
        family="trees",
        factory=make_extra_trees,
        description="Extremely randomised trees (scikit-learn), 200 trees, ordinal-encoded categoricals",
        fixed={"n_estimators": 200},
        spaces={"classification": _CLASS_SPACE, "regression": _FOREST_SPACE},
    ),
]
