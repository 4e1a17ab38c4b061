"""Baseline, linear, nearest-neighbour and kernel candidates.

Search spaces follow the ranges common in the tabular-benchmark literature (e.g. Probst et al.
2019, "Tunability"; Grinsztajn et al. 2022): regularisation strengths on a log scale, the kNN
neighbourhood size on a log scale, and C and gamma of the RBF SVM on log scales.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR

from benchmark.candidates.base import (
    CandidateSpec,
    Schema,
    ordinal_preprocessor,
    pipeline,
    scaled_preprocessor,
)
from benchmark.candidates.spaces import log_float


def make_dummy(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    if schema.is_classification:
        model: BaseEstimator = DummyClassifier(random_state=seed, **params)
    else:
        model = DummyRegressor(**params)
    return pipeline(ordinal_preprocessor(schema, impute=True), model)


def make_linear(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    if schema.is_classification:
        model: BaseEstimator = LogisticRegression(random_state=seed, **{"max_iter": 2000, **params})
    else:
        model = Ridge(random_state=seed, **params)
    return pipeline(scaled_preprocessor(schema), model)


def make_knn(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    cls = KNeighborsClassifier if schema.is_classification else KNeighborsRegressor
    return pipeline(scaled_preprocessor(schema), cls(n_jobs=n_threads, **params))


def make_svm(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    if schema.is_classification:
        # Platt scaling on internal CV predictions, one refitted SVC (what SVC(probability=True) did).
        model: BaseEstimator = CalibratedClassifierCV(SVC(kernel="rbf", **params), method="sigmoid", cv=3, ensemble=False)
    else:
        model = SVR(kernel="rbf", **params)
    return pipeline(scaled_preprocessor(schema), model)


SPECS = [
    CandidateSpec(
        name="dummy",
        cost=0.1,
        family="baseline",
        factory=make_dummy,
        description="Chance-level baseline: class prior / mean (DummyClassifier, DummyRegressor)",
        spaces={
            "classification": {"strategy": {"type": "categorical", "choices": ["prior", "most_frequent", "stratified", "uniform"]}},
            "regression": {"strategy": {"type": "categorical", "choices": ["mean", "median"]}},
        },
    ),
    CandidateSpec(
        name="linear",
        cost=0.1,
        family="linear",
        factory=make_linear,
        description="L2-regularised logistic regression / ridge regression on standardised, one-hot features",
        spaces={
            "classification": {"C": log_float(1e-4, 1e3), "class_weight": {"type": "categorical", "choices": [None, "balanced"]}},
            "regression": {"alpha": log_float(1e-4, 1e3)},
        },
    ),
    CandidateSpec(
        name="knn",
        cost=0.15,
        family="neighbors",
        factory=make_knn,
        description="k-nearest neighbours on standardised, one-hot features",
        spaces={
            kind: {
                "n_neighbors": {"type": "int", "low": 1, "high": 64, "log": True},
                "weights": {"type": "categorical", "choices": ["uniform", "distance"]},
                "p": {"type": "categorical", "choices": [1, 2]},
            }
            for kind in ("classification", "regression")
        },
    ),
    CandidateSpec(
        name="svm",
        cost=0.25,
        family="kernel",
        factory=make_svm,
        description="RBF-kernel support vector machine (SVC with Platt probabilities / SVR)",
        spaces={
            "classification": {"C": log_float(1e-2, 1e3), "gamma": log_float(1e-4, 10.0)},
            "regression": {"C": log_float(1e-2, 1e3), "gamma": log_float(1e-4, 10.0), "epsilon": log_float(1e-3, 1.0)},
        },
    ),
]
