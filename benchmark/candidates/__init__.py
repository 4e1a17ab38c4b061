"""The candidate registry: every model the runner can compare, by name.

Families live in their own modules and expose ``SPECS``; new families (neural nets, ensembles)
register by adding their module to ``_FAMILY_MODULES`` or by calling :func:`register`.
"""

from __future__ import annotations

import difflib
import importlib

from benchmark.candidates.base import (
    CandidateConfig,
    CandidateSpec,
    Schema,
    build_estimator,
)
from benchmark.errors import InputError

__all__ = ["CandidateConfig", "CandidateSpec", "Schema", "build_estimator", "get_spec", "register", "registry", "default_config"]

_FAMILY_MODULES = (
    "benchmark.candidates.classical",
    "benchmark.candidates.trees",
    "benchmark.candidates.boosting",
    "benchmark.candidates.neural",
    "benchmark.candidates.ensembles",
    "benchmark.testing",  # the test double ``fault`` (hidden from `bench list candidates`)
)
_REGISTRY: dict[str, CandidateSpec] = {}
_LOADED = False


def register(spec: CandidateSpec, *, replace: bool = False) -> None:
    """Add a candidate to the registry (``replace=True`` to overwrite an existing name)."""
    _load()
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"candidate '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in _FAMILY_MODULES:
        for spec in importlib.import_module(mod).SPECS:
            _REGISTRY.setdefault(spec.name, spec)


def registry() -> dict[str, CandidateSpec]:
    """All registered candidates, by name (a copy)."""
    _load()
    return dict(_REGISTRY)


def get_spec(name: str) -> CandidateSpec:
    """The registered candidate ``name``, or an InputError suggesting close names."""
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise InputError(f"unknown candidate '{name}'{hint}; see `bench list candidates`")


def default_config(name: str) -> CandidateConfig:
    """The candidate ``name`` as registered, with no suite overrides."""
    spec = get_spec(name)
    return CandidateConfig(name=name, base=name, fixed={}, spaces={k: dict(v) for k, v in spec.spaces.items()})
