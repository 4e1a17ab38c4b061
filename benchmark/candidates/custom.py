"""Your own model as a candidate: :class:`Candidate`, the search-space forms it accepts, and how
the estimator travels to the workers.

A user candidate is any scikit-learn–compatible estimator — an instance, a ``Pipeline``, a class
or a factory function — with a search space. It becomes an ordinary
:class:`~benchmark.candidates.base.CandidateConfig` (``base="estimator"``) that carries the
estimator **by value**: :func:`cloudpickle.dumps` of the object, so a class defined in a script's
``__main__`` or in a notebook cell reaches spawned worker processes and Dask workers without any
registration step. A worker that cannot load it raises :class:`EstimatorTransportError`, which the
records label ``error_kind: infrastructure`` (not a model error).

Search-space entries may be written as

* an Optuna distribution (``FloatDistribution``, ``IntDistribution``, ``CategoricalDistribution``);
* a frozen scipy.stats distribution with bounded support (``uniform``, ``loguniform``/``reciprocal``,
  ``randint``), as in ``RandomizedSearchCV``;
* a list or tuple of choices;
* our own spec ``{low, high[, log]}`` or ``{choices: [...]}`` (``type`` optional: inferred);
* a plain value, which fixes the parameter.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
from collections.abc import Mapping
from typing import Any

from benchmark.candidates.base import (
    CandidateConfig,
    CandidateSpec,
    Schema,
    both_kinds,
    pipeline,
    scaled_preprocessor,
)
from benchmark.candidates.spaces import Space, validate_spec
from benchmark.errors import InputError

#: ``base`` of every user candidate (records and manifests show it).
USER_BASE = "estimator"
PREPROCESS = ("auto", "none")
_SCALARS = (type(None), bool, int, float, str)
_IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class EstimatorTransportError(RuntimeError):
    """A worker could not load a user estimator sent by value (a transport failure, not a model error)."""


class Candidate:
    """Your own estimator as a candidate, tuned with the same budget and folds as the built-in ones.

    Parameters
    ----------
    name : str
        Name in the leaderboard and the report (must differ from the other candidates').
    estimator : estimator instance, Pipeline, class or callable
        An instance (or ``Pipeline``) is cloned and given each trial's parameters with
        ``set_params``; a class or factory function is called with them as keyword arguments.
    space : mapping, optional
        ``{parameter: entry}``; an entry is an Optuna distribution, a frozen ``scipy.stats``
        distribution (``uniform``, ``loguniform``, ``randint``), a list of choices, a spec
        ``{"low": .., "high": .., "log": bool}`` / ``{"choices": [...]}``, or a plain value (fixed).
        For a ``Pipeline`` use the step-prefixed names (``"clf__C"``).
    params : mapping, optional
        Fixed parameters set on every fit (also on trial 0).
    preprocess : {"auto", "none"}
        ``"auto"`` (default): a plain estimator gets the toolkit's preprocessing (median
        imputation with missing indicators, standardisation, one-hot categoricals), fitted on the
        training rows only; a ``Pipeline`` is taken as given (it brings its own). ``"none"``: the
        estimator receives the feature DataFrame as it is (categorical columns have dtype
        ``category``, missing values are NaN).

    Notes
    -----
    Trial 0 is the estimator's own parameters (plus ``params``); the other trials come from the
    same seeded sampler as every candidate. A ``random_state`` left at ``None`` is set to the
    job's seed, so runs are reproducible.

    Examples
    --------
    >>> from scipy.stats import loguniform, randint
    >>> from sklearn.ensemble import GradientBoostingClassifier
    >>> mine = Candidate("my_gb", GradientBoostingClassifier(),
    ...                  space={"learning_rate": loguniform(1e-3, 0.3), "max_depth": randint(2, 8)})
    """

    def __init__(self, name: str, estimator: Any, *, space: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, preprocess: str = "auto") -> None:
        self.name = name
        self.estimator = estimator
        self.space = dict(space or {})
        self.params = dict(params or {})
        self.preprocess = preprocess

    def __repr__(self) -> str:
        return f"Candidate({self.name!r}, {describe_estimator(self.estimator)}, space={sorted(self.space)}, preprocess={self.preprocess!r})"

    def to_config(self, where: str = "candidate") -> CandidateConfig:
        """Validate and convert into the plain record the runner ships (InputError naming ``where``)."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"must be a non-empty string (got {self.name!r})", where=f"{where}.name")
        if self.preprocess not in PREPROCESS:
            raise InputError(f"must be one of {', '.join(PREPROCESS)} (got {self.preprocess!r})", where=f"{where}.preprocess")
        _check_estimator(self.estimator, f"{where}.estimator")
        if not isinstance(self.params, Mapping):
            raise InputError("'params' is a mapping of fixed parameter values", where=f"{where}.params")
        space, fixed = convert_space(self.space, where=f"{where}.space")
        fixed_from = {k: "space" for k in fixed} | {str(k): "params" for k in self.params}
        fixed = {**fixed, **{str(k): v for k, v in self.params.items()}}
        for k in self.params:
            space.pop(str(k), None)
        return CandidateConfig(name=self.name, base=USER_BASE, fixed=fixed, spaces=both_kinds(space),
                               estimator=dump_estimator(self.estimator, where=f"{where}.estimator"),
                               preprocess=self.preprocess, source=describe_estimator(self.estimator), fixed_from=fixed_from)


#: What :func:`~benchmark.candidates.catalog.spec_of` answers for a user candidate (never registered).
USER_SPEC = CandidateSpec(name=USER_BASE, family="user", factory=lambda *a, **k: None, spaces={}, description="your own estimator")


def describe_estimator(obj: Any) -> str:
    """``module:QualName`` of a class or function, or the instance's class path (stored in the manifest)."""
    target = obj if isinstance(obj, type) or not hasattr(obj, "get_params") else type(obj)
    path = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(target).__name__)}"
    if target is obj:
        return path
    try:
        return f"{path}({_short_params(obj)})"
    except Exception:
        return path


def _short_params(est: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(est.get_params(deep=False).items()) if not hasattr(v, "get_params"))[:400]


def _check_estimator(obj: Any, where: str) -> None:
    if isinstance(obj, (str, bytes, Mapping)) or obj is None:
        raise InputError(f"give an estimator instance, a Pipeline, a class or a factory function (got {type(obj).__name__})", where=where)
    if not (callable(obj) or hasattr(obj, "fit")):
        raise InputError(f"{type(obj).__name__} has no fit method; give a scikit-learn compatible estimator", where=where)
    if not isinstance(obj, type) and hasattr(obj, "fit") and not hasattr(obj, "get_params"):
        raise InputError(f"{type(obj).__name__} has no get_params; derive it from sklearn.base.BaseEstimator or pass the class", where=where)


def dump_estimator(obj: Any, *, where: str = "estimator") -> bytes:
    """The estimator as cloudpickle bytes (objects from ``__main__`` or a notebook go by value)."""
    import cloudpickle

    try:
        return cloudpickle.dumps(obj)
    except Exception as exc:
        raise InputError(f"cannot be sent to worker processes ({type(exc).__name__}: {str(exc)[:200]}); "
                         "define it at module level or pass the class", where=where) from None


_LOADED: dict[str, Any] = {}


def load_estimator(blob: bytes) -> Any:
    """The object of :func:`dump_estimator` (cached per process); :class:`EstimatorTransportError` if it cannot be loaded."""
    import pickle

    key = hashlib.sha256(blob).hexdigest()
    if key not in _LOADED:
        try:
            _LOADED[key] = pickle.loads(blob)  # noqa: S301 - bytes made by this run's driver, never read from a file
        except Exception as exc:
            raise EstimatorTransportError(f"the user estimator could not be loaded in this worker ({type(exc).__name__}: {exc}); "
                                          "install the same packages on the workers") from exc
    return _LOADED[key]


def build_user_estimator(config: CandidateConfig, schema: Schema, params: Mapping[str, Any], *, seed: int) -> Any:
    """The unfitted estimator of a user candidate with ``params`` (fixed + tuned) set."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    assert config.estimator is not None
    obj = load_estimator(config.estimator)
    if isinstance(obj, type) or not hasattr(obj, "get_params"):
        est = obj(**params)
    else:
        est = clone(obj)
        if params:
            est.set_params(**params)
    _seed(est, seed)
    if config.preprocess == "auto" and not isinstance(est, Pipeline):
        return pipeline(scaled_preprocessor(schema), est)
    return est


def _seed(est: Any, seed: int) -> None:
    """Set every ``random_state`` left at ``None`` (top level or in a Pipeline step) to ``seed``."""
    if not hasattr(est, "get_params"):
        return
    unset = {k: seed for k, v in est.get_params(deep=True).items() if (k == "random_state" or k.endswith("__random_state")) and v is None}
    if unset:
        est.set_params(**unset)


def import_object(path: Any, *, where: str) -> Any:
    """The object named ``module.sub:attr`` (a dotted import path only; nothing is evaluated)."""
    if not isinstance(path, str) or not _IMPORT_PATH.match(path.strip()):
        raise InputError(f"write an import path 'package.module:Name' (got {path!r}); nothing else is evaluated", where=where)
    module_name, attr = path.strip().split(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or the module itself raised while importing
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"cannot import module '{module_name}' ({type(exc).__name__}: {reason}); install it or fix the path", where=where) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"module '{module_name}' has no attribute '{attr}'", where=where)
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------------------------
# Search-space forms


def convert_space(space: Any, *, where: str = "space") -> tuple[Space, dict[str, Any]]:
    """``(space, fixed)`` from any accepted form (module docstring); InputError naming ``where.param``."""
    if not isinstance(space, Mapping):
        raise InputError(f"'space' is a mapping {{parameter: range, distribution or list}} (got {type(space).__name__})", where=where)
    out: Space = {}
    fixed: dict[str, Any] = {}
    for name, entry in space.items():
        loc = f"{where}.{name}"
        if not isinstance(name, str) or not name:
            raise InputError(f"parameter names are non-empty strings (got {name!r})", where=where)
        spec = as_spec(entry, where=loc)
        if spec is None:
            fixed[name] = entry
        else:
            out[name] = validate_spec(_infer_type(spec), where=loc)
    return out, fixed


def as_spec(entry: Any, *, where: str) -> dict[str, Any] | None:
    """A spec dict for a distribution, list or mapping entry; ``None`` for a plain value (a fixed parameter)."""
    if isinstance(entry, _SCALARS):
        return None
    if isinstance(entry, Mapping):
        return dict(entry)
    if isinstance(entry, (list, tuple)) or type(entry).__module__ == "numpy" and getattr(entry, "ndim", 0) == 1:
        choices = list(entry)
        if not choices:
            raise InputError("an empty list of choices; give at least one value", where=where)
        return {"type": "categorical", "choices": choices}
    if type(entry).__module__.startswith("optuna.distributions"):
        return _from_optuna(entry, where)
    if hasattr(entry, "dist") and hasattr(entry, "support") and hasattr(entry, "rvs"):
        return _from_scipy(entry, where)
    if type(entry).__module__ == "numpy" and getattr(entry, "ndim", None) == 0:
        return None  # a numpy scalar: a fixed value
    raise InputError(f"unsupported search-space entry {type(entry).__name__}; give an Optuna distribution, a scipy.stats "
                     "uniform/loguniform/randint, a list of choices, {low, high, log} or a plain value", where=where)


def _from_optuna(d: Any, where: str) -> dict[str, Any]:
    name = type(d).__name__
    if name == "CategoricalDistribution":
        return {"type": "categorical", "choices": list(d.choices)}
    if getattr(d, "step", None) not in (None, 1):
        raise InputError(f"{name} with step={d.step} is not supported; drop the step or list the values", where=where)
    kind = "int" if "Int" in name else "float"
    return {"type": kind, "low": d.low, "high": d.high, "log": bool(getattr(d, "log", False))}


def _from_scipy(frozen: Any, where: str) -> dict[str, Any]:
    dist = getattr(frozen.dist, "name", type(frozen.dist).__name__)
    low, high = (float(v) for v in frozen.support())
    if dist == "randint":
        return {"type": "int", "low": int(low), "high": int(high), "log": False}
    if dist == "uniform":
        return {"type": "float", "low": low, "high": high, "log": False}
    if dist in ("loguniform", "reciprocal"):
        return {"type": "float", "low": low, "high": high, "log": True}
    bounded = math.isfinite(low) and math.isfinite(high)
    hint = "" if bounded else " (its support is unbounded)"
    raise InputError(f"scipy.stats.{dist} cannot be searched as a range{hint}; use uniform, loguniform, randint, "
                     "an Optuna distribution or a list of values", where=where)


def _infer_type(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill in ``type`` when omitted: choices → categorical; whole-number bounds → int; else float."""
    if "type" in spec:
        return spec
    if "choices" in spec:
        return {"type": "categorical", **spec}
    ints = all(isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool) for k in ("low", "high"))
    return {"type": "int" if ints else "float", **spec}


# ---------------------------------------------------------------------------------------------
# Declared parameter constraints


def declared_violation(est: Any) -> tuple[str, str] | None:
    """``(parameter, message)`` for the first parameter of ``est`` (or of its Pipeline steps, or of a
    wrapped ``estimator``) that breaks the estimator's declared ``_parameter_constraints``
    (scikit-learn's own checks, run before any fit); ``None`` when all pass or none are declared."""
    from sklearn.utils._param_validation import InvalidParameterError

    for prefix, obj in _parts(est, ""):
        constraints = getattr(type(obj), "_parameter_constraints", None)
        if not isinstance(constraints, dict) or not hasattr(obj, "_validate_params"):
            continue
        try:
            obj._validate_params()
        except InvalidParameterError as exc:
            msg = str(exc).splitlines()[0]
            m = re.match(r"The '([^']+)' parameter", msg)
            return (prefix + (m.group(1) if m else "?"), msg)
        except Exception:  # a third-party estimator whose own checks need data: left to fit time
            continue
    return None


def _parts(est: Any, prefix: str) -> list[tuple[str, Any]]:
    """``est`` and the estimators inside it, with the ``step__`` prefix of their parameter names."""
    out = [(prefix, est)]
    steps = getattr(est, "steps", None)
    if isinstance(steps, list):
        out = []
        for name, step in steps:
            if hasattr(step, "get_params"):
                out += _parts(step, f"{prefix}{name}__")
    return out
