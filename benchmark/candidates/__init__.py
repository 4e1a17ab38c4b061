"""Candidates: every model the runner can compare, by name, with its search space.

* :mod:`~benchmark.candidates.base`: what a candidate is (``CandidateSpec``, ``CandidateConfig``,
  ``Schema``) and the shared preprocessing pipelines.
* :mod:`~benchmark.candidates.catalog`: the registry (built-in families, ``BENCHMARK_PLUGINS``
  plugins, :func:`register`) and :func:`build_estimator`.
* :mod:`~benchmark.candidates.spaces`: search spaces as data.
* :mod:`~benchmark.candidates.custom`: your own estimator as a :class:`Candidate` (any space form).
* one module per family: classical, trees, boosting, neural, ensembles.
"""

from benchmark.candidates.base import CandidateConfig, CandidateSpec, Schema
from benchmark.candidates.catalog import (
    PLUGINS_ENV,
    build_estimator,
    default_config,
    get_spec,
    register,
    registry,
    spec_of,
)
from benchmark.candidates.custom import Candidate

__all__ = [
    "Candidate", "spec_of", "PLUGINS_ENV", "CandidateConfig", "CandidateSpec", "Schema", "build_estimator", "default_config", "get_spec",
    "register", "registry",
]
