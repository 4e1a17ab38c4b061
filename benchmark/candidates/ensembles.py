"""Ensembles as candidates: bagging, AdaBoost, soft voting and stacking.

Base learners are other registered candidates (at their default configuration), named in the
suite, e.g. ``{name: stack3, base: stacking, params: {members: [random_forest, svm, mlp]}}``;
members of different kinds (trees, kernels, nets) mix freely.

Budget fairness: an ensemble is one candidate with one budget. Each of its trials is one
configuration of the ensemble, however many base models that configuration fits, so it gets
the same number of trials as every other candidate. What the base models cost is not hidden:
their work is inside each job's CPU seconds, which the report's fairness audit shows next to
the trial counts. :func:`count_base_fits` counts the base-model fits of one fitted ensemble;
every job record carries ``n_base_fits`` (tuning fits plus the final refit, counted in base
models), which the fairness audit shows next to the model fits.

``ensemble_selection`` is different: it is *post hoc* (see :mod:`benchmark.run.ensembles`). It runs no
trials; it selects, with replacement, from the configurations the other candidates tried while
tuning, using their out-of-fold predictions, and refits only the chosen ones.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from benchmark.candidates.base import (
    CandidateSpec,
    Schema,
    both_kinds,
    ordinal_preprocessor,
    pipeline,
    scaled_preprocessor,
)
from benchmark.candidates.spaces import log_float

DEFAULT_MEMBERS = ("linear", "random_forest", "knn")


def _members(schema: Schema, names: Any, *, seed: int, n_threads: int) -> list[tuple[str, BaseEstimator]]:
    """Build the named registered candidates at their defaults, as (name, pipeline) pairs."""
    from benchmark.candidates.catalog import build_estimator, default_config

    if isinstance(names, str):
        names = [names]
    names = list(names or DEFAULT_MEMBERS)
    if len(names) < 1:
        raise ValueError("an ensemble needs at least one member")
    out = []
    for i, name in enumerate(names):
        label = name if names.count(name) == 1 else f"{name}_{i}"
        out.append((label, build_estimator(default_config(name), schema, {}, seed=seed, n_threads=n_threads)))
    return out


def _split_member(est: BaseEstimator) -> tuple[Any, BaseEstimator]:
    """A member pipeline's (preprocessor, model)."""
    if isinstance(est, Pipeline) and "prep" in est.named_steps:
        return est.named_steps["prep"], est.named_steps["model"]
    raise ValueError(f"cannot use {type(est).__name__} as a base learner")


def make_bagging(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    """Bootstrap aggregating over one base learner: a decision tree by default, or a candidate."""
    params = dict(params)
    learner = params.pop("base_learner", "tree")
    if learner == "tree":
        tree = DecisionTreeClassifier if schema.is_classification else DecisionTreeRegressor
        prep, base = ordinal_preprocessor(schema, impute=True), tree(random_state=seed)
    else:
        prep, base = _split_member(_members(schema, [learner], seed=seed, n_threads=n_threads)[0][1])
    cls = BaggingClassifier if schema.is_classification else BaggingRegressor
    return pipeline(prep, cls(estimator=base, random_state=seed, n_jobs=n_threads, **params))


def make_adaboost(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    """AdaBoost (SAMME / AdaBoost.R2) over shallow decision trees."""
    params = dict(params)
    depth = int(params.pop("max_depth", 1 if schema.is_classification else 3))
    if schema.is_classification:
        model: BaseEstimator = AdaBoostClassifier(estimator=DecisionTreeClassifier(max_depth=depth, random_state=seed), random_state=seed, **params)
    else:
        model = AdaBoostRegressor(estimator=DecisionTreeRegressor(max_depth=depth, random_state=seed), random_state=seed, **params)
    return pipeline(ordinal_preprocessor(schema, impute=True), model)


def make_voting(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    """Soft vote (mean of probabilities) / mean prediction of the member candidates."""
    params = dict(params)
    members = _members(schema, params.pop("members", None), seed=seed, n_threads=n_threads)
    if schema.is_classification:
        return VotingClassifier(estimators=members, voting="soft", **params)
    return VotingRegressor(estimators=members, **params)


def make_stacking(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    """Members' out-of-fold predictions (internal ``cv`` folds) feed a logistic / ridge meta-learner.

    With ``passthrough=True`` the meta-learner also sees the original features, so the stack
    runs on one shared preprocessing (impute, standardise, one-hot) fitted on training rows.
    """
    params = dict(params)
    names = params.pop("members", None)
    cv_folds = int(params.pop("cv", 5))
    final_c = params.pop("final_C", 1.0)
    final_alpha = params.pop("final_alpha", 1.0)
    passthrough = bool(params.pop("passthrough", False))
    cv = (StratifiedKFold if schema.is_classification else KFold)(n_splits=cv_folds, shuffle=True, random_state=seed)
    if passthrough:
        num_schema = Schema(schema.kind, categorical=(), numeric=("__all__",), n_classes=schema.n_classes)
        members = [(n, _split_member(m)[1]) for n, m in _members(num_schema, names, seed=seed, n_threads=n_threads)]
    else:
        members = _members(schema, names, seed=seed, n_threads=n_threads)
    if schema.is_classification:
        final: BaseEstimator = LogisticRegression(C=final_c, max_iter=2000)
        model: BaseEstimator = StackingClassifier(members, final_estimator=final, cv=cv, stack_method="predict_proba", passthrough=passthrough, **params)
    else:
        model = StackingRegressor(members, final_estimator=Ridge(alpha=final_alpha), cv=cv, passthrough=passthrough, **params)
    return pipeline(scaled_preprocessor(schema), model) if passthrough else model


def count_base_fits(estimator: Any) -> int:
    """Base-model fits one ``fit`` of this (fitted) estimator performed (1 for a single model)."""
    model = estimator.named_steps.get("model", estimator) if isinstance(estimator, Pipeline) else estimator
    if isinstance(model, (BaggingClassifier, BaggingRegressor, AdaBoostClassifier, AdaBoostRegressor)):
        return len(getattr(model, "estimators_", [])) or int(model.n_estimators)
    if isinstance(model, (StackingClassifier, StackingRegressor)):
        n_members = len(model.estimators)
        return n_members * (model.cv.get_n_splits() + 1) + 1
    if isinstance(model, (VotingClassifier, VotingRegressor)):
        return len(model.estimators)
    return 1


_BAG_SPACE = {
    "n_estimators": {"type": "int", "low": 10, "high": 100, "log": True},
    "max_samples": {"type": "float", "low": 0.3, "high": 1.0, "log": False},
    "max_features": {"type": "float", "low": 0.3, "high": 1.0, "log": False},
}
_ADA_SPACE = {
    "n_estimators": {"type": "int", "low": 25, "high": 300, "log": True},
    "learning_rate": log_float(0.01, 2.0),
    "max_depth": {"type": "int", "low": 1, "high": 4, "log": False},
}


def make_ensemble_selection(schema: Schema, params: dict[str, Any], *, seed: int, n_threads: int = 1) -> BaseEstimator:
    """Not buildable on its own: the runner assembles it from the other candidates' trials."""
    raise ValueError("ensemble_selection is post hoc: the runner builds it from the other candidates' tuning trials")


SPECS = [
    CandidateSpec(
        name="bagging",
        cost=0.5,
        family="ensemble",
        factory=make_bagging,
        description="Bagging over decision trees (params: base_learner: <candidate> to bag another model)",
        spaces=both_kinds(_BAG_SPACE),
    ),
    CandidateSpec(
        name="adaboost",
        cost=0.9,
        family="ensemble",
        factory=make_adaboost,
        description="AdaBoost (SAMME / R2) over shallow decision trees",
        spaces=both_kinds(_ADA_SPACE),
    ),
    CandidateSpec(
        name="voting",
        cost=0.4,
        family="ensemble",
        factory=make_voting,
        description="Soft vote of member candidates at their defaults (params: members: [linear, random_forest, knn])",
        spaces=both_kinds({}),
    ),
    CandidateSpec(
        name="stacking",
        cost=2.5,
        family="ensemble",
        factory=make_stacking,
        description="Stacking: members' out-of-fold predictions → logistic/ridge meta-learner (params: members, passthrough)",
        spaces={
            "classification": {"final_C": log_float(1e-3, 1e2), "passthrough": {"type": "categorical", "choices": [False, True]}},
            "regression": {"final_alpha": log_float(1e-3, 1e3), "passthrough": {"type": "categorical", "choices": [False, True]}},
        },
    ),
    CandidateSpec(
        name="ensemble_selection",
        family="ensemble",
        factory=make_ensemble_selection,
        description="Greedy ensemble selection (Caruana) over the configurations the other candidates tried (params: library, rounds)",
        spaces=both_kinds({}),
        post_hoc=True,
    ),
]
