"""What a candidate is: an estimator factory plus a search space, both plain data and functions.

A :class:`CandidateSpec` is registered once per model family member. The runner never names a
model; it resolves a suite's candidate entry (a registered name, or a variant ``base:`` of one)
into a :class:`CandidateConfig` and ships that plain, picklable record to the workers, which
call :func:`build_estimator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from benchmark.candidates.spaces import Space
from benchmark.metrics import KINDS


@dataclass(frozen=True)
class Schema:
    """What a factory needs to know about the data: task kind and column roles."""

    kind: str
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    n_classes: int = 0

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"


#: factory(schema, params, *, seed, n_threads) -> an unfitted scikit-learn estimator
Factory = Callable[..., BaseEstimator]


@dataclass(frozen=True)
class CandidateSpec:
    """A registered candidate.

    ``spaces`` maps ``"classification"`` / ``"regression"`` to a search space; ``fixed`` holds
    the parameters the family always sets (e.g. ``n_estimators``) on top of library defaults.
    The first trial of every tuning run uses ``fixed`` alone: the candidate's default.
    """

    name: str
    family: str
    factory: Factory
    spaces: Mapping[str, Space]
    description: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    kinds: tuple[str, ...] = KINDS
    #: built by the runner after the other candidates, from their tuning trials (ensemble
    #: selection); it has no estimator of its own and runs no trials.
    post_hoc: bool = False
    #: a job's CPU relative to a forest's on the same rows (measured on the standard suite): the
    #: runner starts the costly jobs of each outer fold first, so no long job is left alone at the end
    cost: float = 1.0

    def space_for(self, kind: str) -> Space:
        return dict(self.spaces.get("regression" if kind == "regression" else "classification", {}))


@dataclass(frozen=True)
class CandidateConfig:
    """A candidate as a suite resolved it: name, registered base, fixed params, space per kind.

    A user's own estimator (:class:`benchmark.candidates.custom.Candidate`) has ``base="estimator"``
    and travels by value in ``estimator`` (cloudpickle bytes); ``preprocess`` says whether it gets
    the toolkit's preprocessing, ``source`` describes it for the manifest.  ``fixed_from`` tells, for
    error messages only, whether a fixed parameter came from ``params`` or ``space``.
    """

    name: str
    base: str
    fixed: Mapping[str, Any]
    spaces: Mapping[str, Space]
    estimator: bytes | None = field(default=None, repr=False)
    preprocess: str = "auto"
    source: str = ""
    fixed_from: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def space_for(self, kind: str) -> Space:
        return dict(self.spaces.get("regression" if kind == "regression" else "classification", {}))

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "base": self.base, "fixed": dict(self.fixed), "spaces": {k: dict(v) for k, v in self.spaces.items()}}
        if self.estimator is not None:  # registered candidates keep their old form (and suite hash)
            d.update(estimator=self.source, preprocess=self.preprocess)
        return d


def both_kinds(space: Space) -> dict[str, Space]:
    """``CandidateSpec.spaces`` for a candidate that tunes the same space for both kinds of task."""
    return {"classification": space, "regression": space}


# ---------------------------------------------------------------------------------------------
# Preprocessing, fitted inside the pipeline on training rows only.


def scaled_preprocessor(schema: Schema) -> ColumnTransformer:
    """Impute (+ missing indicators) and standardise numerics; impute and one-hot categoricals.

    For models that need a common scale and numeric input: linear, kNN, SVM, neural nets.
    """
    num = make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler())
    cat = make_pipeline(
        SimpleImputer(strategy="most_frequent", keep_empty_features=True),
        OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False),
    )
    return _columns(schema, num, cat)


def ordinal_preprocessor(schema: Schema, *, impute: bool, pandas: bool = False) -> ColumnTransformer:
    """Ordinal-encode categoricals (missing and unseen → -1); impute numerics only if asked.

    For tree models. The categorical columns come first in the output, numerics after, so
    factories can pass categorical indices ``range(len(schema.categorical))`` to native handling.
    """
    num: Any = SimpleImputer(strategy="median", keep_empty_features=True) if impute else "passthrough"
    cat = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
        max_categories=250,
        dtype=float if not pandas else int,
    )
    ct = _columns(schema, num, cat)
    if pandas:
        ct.set_output(transform="pandas")
    return ct


def _columns(schema: Schema, num: Any, cat: Any) -> ColumnTransformer:
    parts = []
    if schema.categorical:
        parts.append(("cat", cat, list(schema.categorical)))
    if schema.numeric:
        parts.append(("num", num, list(schema.numeric)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def pipeline(prep: ColumnTransformer, model: BaseEstimator) -> Pipeline:
    return Pipeline([("prep", prep), ("model", model)])
