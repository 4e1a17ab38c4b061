"""The candidate registry: every model the runner can compare, by name.

Families live in their own modules and expose ``SPECS``; a new built-in family is added to
``_FAMILY_MODULES``. Candidates from outside the package come in as plugins: the environment
variable ``BENCHMARK_PLUGINS`` lists modules (comma-separated) that are imported once, when the
registry first loads, and must expose ``SPECS`` (a list of :class:`CandidateSpec`). Because it is
read from the environment, worker processes (spawned pools, local Dask workers) inherit it and
see the same candidates as the driver. The test double ``fault`` (:mod:`benchmark.testing`) is
such a plugin; the test suite sets ``BENCHMARK_PLUGINS=benchmark.testing``.
:func:`register` adds a candidate in the current process only.
"""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from benchmark.candidates.base import CandidateConfig, CandidateSpec, Schema
from benchmark.errors import InputError

#: The environment variable naming plugin modules (comma-separated) that add candidates.
PLUGINS_ENV = "BENCHMARK_PLUGINS"

_FAMILY_MODULES = (
    "benchmark.candidates.classical",
    "benchmark.candidates.trees",
    "benchmark.candidates.boosting",
    "benchmark.candidates.neural",
    "benchmark.candidates.realmlp",
    "benchmark.candidates.tabmnet",
    "benchmark.candidates.ensembles",
)
_REGISTRY: dict[str, CandidateSpec] = {}
_LOADED = False
#: Names added by register() in this process: worker processes do not have them.
_IN_PROCESS: set[str] = set()


def register(spec: CandidateSpec, *, replace: bool = False) -> None:
    """Add a candidate to the registry of this process.

    Parameters
    ----------
    spec : CandidateSpec
        Name, family, factory ``f(schema, params, *, seed, n_threads)``, spaces per kind, description.
    replace : bool
        Overwrite an existing name instead of raising.

    Raises
    ------
    ValueError
        The name is taken and ``replace`` is False.
    InputError
        A space entry is invalid, named ``register(NAME).spaces.KIND.PARAM`` — checked here
        (:func:`~benchmark.candidates.spaces.validate_spec`), not at fit time.

    Notes
    -----
    The candidate exists in this process only: a run with worker processes refuses it up front.
    For ``jobs > 1`` or Dask pass a :class:`~benchmark.candidates.custom.Candidate` instead, or
    list a module in ``BENCHMARK_PLUGINS``.
    """
    from dataclasses import replace as with_fields

    from benchmark.candidates.spaces import validate_space

    _load()
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"candidate '{spec.name}' is already registered")
    spaces = {kind: validate_space(space, where=f"register({spec.name}).spaces.{kind}") for kind, space in spec.spaces.items()}
    _REGISTRY[spec.name] = with_fields(spec, spaces=spaces)
    _IN_PROCESS.add(spec.name)


def registered_in_process(name: str) -> bool:
    """Whether ``name`` was added by :func:`register` in this process (worker processes lack it)."""
    return name in _IN_PROCESS


def _load() -> None:
    """Fill the registry once: the built-in families, then the plugins of ``BENCHMARK_PLUGINS``.

    Plugins are added all or nothing: if one fails (InputError), none is registered and the next
    call tries again, so the same clear error comes back instead of a half-filled registry.
    """
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in _FAMILY_MODULES:
        for spec in importlib.import_module(mod).SPECS:
            _REGISTRY.setdefault(spec.name, spec)
    try:
        plugins = _plugin_candidates()
    except InputError:
        _LOADED = False
        raise
    _REGISTRY.update(plugins)


def _plugin_modules() -> tuple[str, ...]:
    """The module names listed in ``BENCHMARK_PLUGINS`` (comma-separated; blanks, repeats ignored)."""
    raw = os.environ.get(PLUGINS_ENV, "")
    return tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))


def _plugin_candidates() -> dict[str, CandidateSpec]:
    """The candidates of every plugin module, by name; a name already taken is an InputError."""
    found: dict[str, CandidateSpec] = {}
    for module_name in _plugin_modules():
        for spec in _plugin_specs(module_name):
            if spec.name in _REGISTRY or spec.name in found:
                raise InputError(
                    f"{PLUGINS_ENV}: plugin module '{module_name}' registers candidate '{spec.name}', "
                    "which already exists; give it another name"
                )
            found[spec.name] = spec
    return found


def _plugin_specs(module_name: str) -> list[CandidateSpec]:
    """Import a plugin module and return its ``SPECS``; InputError (one line) if it cannot."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"{PLUGINS_ENV}: cannot import plugin module '{module_name}' ({reason}); "
            "fix the name or make the module importable (PYTHONPATH)"
        ) from None
    specs = getattr(module, "SPECS", None)
    if not isinstance(specs, Iterable) or isinstance(specs, (str, bytes)):
        raise InputError(f"{PLUGINS_ENV}: plugin module '{module_name}' has no SPECS (a list of CandidateSpec)")
    specs = list(specs)
    if not all(isinstance(spec, CandidateSpec) for spec in specs):
        raise InputError(f"{PLUGINS_ENV}: SPECS of plugin module '{module_name}' must hold only CandidateSpec objects")
    return specs


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


def spec_of(config: CandidateConfig) -> CandidateSpec:
    """The spec behind a resolved candidate: the registered base, or the user-estimator spec."""
    if config.estimator is not None:
        from benchmark.candidates.custom import USER_SPEC

        return USER_SPEC
    return get_spec(config.base)


def default_config(name: str) -> CandidateConfig:
    """The candidate ``name`` as registered, with no suite overrides."""
    spec = get_spec(name)
    return CandidateConfig(name=name, base=name, fixed={}, spaces={k: dict(v) for k, v in spec.spaces.items()})


def build_estimator(config: CandidateConfig, schema: Schema, params: Mapping[str, Any], *, seed: int, n_threads: int = 1) -> Any:
    """Build the unfitted estimator for ``config`` with ``params`` (tuned) over its fixed ones."""
    if config.estimator is not None:
        from benchmark.candidates.custom import build_user_estimator

        return build_user_estimator(config, schema, {**config.fixed, **params}, seed=seed)
    spec = get_spec(config.base)
    merged = {**spec.fixed, **config.fixed, **params}
    return spec.factory(schema, merged, seed=seed, n_threads=n_threads)
