"""Search spaces declared as data, and how a suite narrows them.

A space is a mapping ``{param: spec}`` where a spec is a dict:

- ``{"type": "float", "low": 1e-3, "high": 10.0, "log": True}``
- ``{"type": "int", "low": 2, "high": 10, "log": False}``
- ``{"type": "categorical", "choices": [None, "balanced"]}``

Suites narrow a space with a partial spec (``{"low": 0.1}``), replace it with a full one, or fix
a parameter by giving a plain value (which removes it from the space).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from benchmark.errors import InputError

Space = dict[str, dict[str, Any]]
_TYPES = ("float", "int", "categorical")
_KEYS = ("type", "low", "high", "log", "choices")


def log_float(low: float, high: float) -> dict[str, Any]:
    """A float range searched on a log scale (learning rates, C, regularisation)."""
    return {"type": "float", "low": low, "high": high, "log": True}


def uniform_float(low: float, high: float) -> dict[str, Any]:
    """A float range searched uniformly (fractions)."""
    return {"type": "float", "low": low, "high": high, "log": False}


def int_range(low: int, high: int, log: bool = False) -> dict[str, Any]:
    """An integer range, optionally on a log scale."""
    return {"type": "int", "low": low, "high": high, "log": log}


def validate_space(space: Mapping[str, Any], *, where: str = "space") -> Space:
    """Check every spec in ``space`` and return a normalised deep copy."""
    out: Space = {}
    for name, spec in space.items():
        out[str(name)] = validate_spec(spec, where=f"{where}.{name}")
    return out


def validate_spec(spec: Any, *, where: str) -> dict[str, Any]:
    """Check one search-space entry (types, ``low < high``, ``log`` only with ``low > 0``, strict
    booleans, non-empty choices) and return it normalised; InputError naming ``where``."""
    if not isinstance(spec, Mapping):
        raise InputError("a search-space entry must be a mapping with 'type' and bounds", where=where)
    spec = dict(copy.deepcopy(spec))
    unknown = sorted(str(k) for k in spec if k not in _KEYS)
    if unknown:
        raise InputError(f"unknown key '{unknown[0]}' in a search-space entry (allowed: {', '.join(_KEYS)})", where=where)
    kind = spec.get("type")
    if kind not in _TYPES:
        raise InputError(f"type must be one of {', '.join(_TYPES)} (got {kind!r})", where=where)
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise InputError("categorical needs a non-empty list 'choices'", where=where)
        return {"type": kind, "choices": choices}
    for key in ("low", "high"):
        if not isinstance(spec.get(key), (int, float)) or isinstance(spec.get(key), bool):
            raise InputError(f"'{key}' must be a number", where=where)
        if not math.isfinite(spec[key]):
            raise InputError(f"'{key}' must be finite", where=where)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise InputError(f"'log' must be true or false (got {log!r})", where=where)
    low, high = spec["low"], spec["high"]
    if kind == "int" and (int(low) != low or int(high) != high):
        raise InputError("int bounds must be whole numbers", where=where)
    if low > high:
        raise InputError(f"low ({low}) is above high ({high}); swap them", where=where)
    if low == high:
        raise InputError(f"low equals high ({low}): an empty range; give a plain value to fix the parameter instead", where=where)
    if log and low <= 0:
        raise InputError(f"a log-scale range needs low > 0 (got {low})", where=where)
    if kind == "int":
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    return {"type": kind, "low": low, "high": high, "log": log}


def narrow(
    space: Space, overrides: Mapping[str, Any] | None, *, where: str = "space"
) -> tuple[Space, dict[str, Any]]:
    """Apply a suite's ``space:`` overrides to a candidate's space.

    Returns ``(new_space, fixed)``: a partial spec (e.g. ``{"high": 8}``) narrows an existing
    entry and must stay inside its range; a full spec with ``type`` replaces or adds an entry; a
    plain value fixes the parameter (it leaves the space and goes into ``fixed``).
    """
    new = copy.deepcopy(space)
    fixed: dict[str, Any] = {}
    for name, spec in (overrides or {}).items():
        loc = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            new.pop(name, None)
            fixed[name] = spec
            continue
        if "type" in spec:
            new[name] = validate_spec(spec, where=loc)
            continue
        if name not in new:
            known = ", ".join(sorted(new)) or "none"
            raise InputError(
                f"no parameter '{name}' to narrow (tunable: {known}); give a full spec with 'type'",
                where=loc,
            )
        new[name] = _narrow_one(new[name], spec, where=loc)
    return new, fixed


def _narrow_one(base: dict[str, Any], partial: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    merged = {**base, **partial}
    out = validate_spec(merged, where=where)
    if base["type"] == "categorical":
        extra = [c for c in out["choices"] if c not in base["choices"]]
        if extra:
            raise InputError(f"choices {extra} are not in the original space {base['choices']}", where=where)
    elif out["low"] < base["low"] or out["high"] > base["high"]:
        raise InputError(
            f"[{out['low']}, {out['high']}] is outside the original range "
            f"[{base['low']}, {base['high']}]; give 'type' to replace the range instead",
            where=where,
        )
    return out


def to_optuna(space: Space) -> dict[str, Any]:
    """Translate a validated space into Optuna distributions ``{param: distribution}``."""
    import optuna.distributions as od

    dists: dict[str, Any] = {}
    for name, spec in space.items():
        if spec["type"] == "float":
            dists[name] = od.FloatDistribution(spec["low"], spec["high"], log=spec["log"])
        elif spec["type"] == "int":
            dists[name] = od.IntDistribution(spec["low"], spec["high"], log=spec["log"])
        else:
            dists[name] = od.CategoricalDistribution(_hashable_choices(spec["choices"]))
    return dists


def _hashable_choices(choices: list[Any]) -> tuple[Any, ...]:
    """Optuna needs choices of None/bool/int/float/str; encode anything else as its repr."""
    ok = (type(None), bool, int, float, str)
    return tuple(c if isinstance(c, ok) else repr(c) for c in choices)


def decode(space: Space, params: Mapping[str, Any]) -> dict[str, Any]:
    """Map Optuna's categorical values back to the declared choices (undoing repr encoding)."""
    out = dict(params)
    for name, spec in space.items():
        if spec["type"] == "categorical" and name in out:
            for c in spec["choices"]:
                if out[name] == c or (not isinstance(out[name], type(c)) and out[name] == repr(c)):
                    out[name] = c
                    break
    return out


def contains(space: Space, params: Mapping[str, Any]) -> bool:
    """Whether every tunable parameter in ``params`` lies inside ``space`` (for seeding Optuna)."""
    for name, spec in space.items():
        if name not in params:
            return False
        v = params[name]
        if spec["type"] == "categorical":
            if v not in spec["choices"]:
                return False
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not spec["low"] <= v <= spec["high"]:
            return False
    return True
