"""Fair, honest model comparison: equal tuning budgets over shared nested-CV folds,
significance tests, and one self-contained HTML report.

``from benchmark import compare, Candidate`` is the library call; ``bench`` is the command line.
Heavy libraries (torch, xgboost, lightgbm, catboost) are imported only when a model needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["compare", "CompareResult", "Candidate", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.api import CompareResult, compare
    from benchmark.candidates.custom import Candidate


def __getattr__(name: str) -> Any:
    if name in ("compare", "CompareResult"):
        from benchmark import api

        return getattr(api, name)
    if name == "Candidate":
        from benchmark.candidates.custom import Candidate

        return Candidate
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
