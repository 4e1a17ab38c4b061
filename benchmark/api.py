"""The library call: a fair comparison on your own data in one line.

>>> from benchmark import compare
>>> result = compare(X, y, candidates=["linear", "random_forest"], trials=20, folds=5, metric="roc_auc")
>>> result.leaderboard          # mean ± std over outer folds, mean rank over folds
>>> result.results              # tidy: one row per candidate × outer fold
>>> result.write_report("comparison.html")
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.config import Suite, TaskConfig, parse_candidates, parse_settings
from benchmark.errors import InputError
from benchmark.metrics import greater_is_better
from benchmark.results.table import ResultTable

DEFAULT_CANDIDATES = ("dummy", "linear", "knn", "svm", "random_forest", "extra_trees", "hist_gb", "xgboost", "lightgbm", "catboost")


@dataclass
class CompareResult:
    """What :func:`compare` returns.

    ``results``: one row per candidate × outer fold (``test_<metric>``, ``fit_seconds``,
    ``n_trials``, ``state`` …). ``leaderboard``: per candidate, mean and std of the tuning metric
    over outer folds, mean rank over folds (1 = best), and — when computable — the Holm-adjusted
    p-value of the Nadeau–Bengio corrected t-test against the best candidate.
    """

    run_dir: Path
    metric: str
    table: ResultTable

    @property
    def results(self) -> pd.DataFrame:
        return self.table.df.copy()

    @property
    def leaderboard(self) -> pd.DataFrame:
        return fold_leaderboard(self.table, self.metric)

    def write_report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path``; returns the path."""
        from benchmark.report import write_report

        return write_report(self.run_dir, out=path)

    def __repr__(self) -> str:
        return f"CompareResult(metric={self.metric!r}, run_dir={str(self.run_dir)!r})\n{self.leaderboard.to_string(index=False)}"


def fold_leaderboard(table: ResultTable, metric: str) -> pd.DataFrame:
    """Leaderboard for one task: mean/std over folds, mean per-fold rank, test against the best."""
    ok = table.ok
    col = f"test_{metric}"
    gib = greater_is_better(metric)
    wide = ok.pivot_table(index="fold", columns="candidate", values=col, aggfunc="mean")
    ranks = wide.rank(axis=1, ascending=not gib, method="average", na_option="bottom")
    lb = pd.DataFrame(
        {
            "candidate": wide.columns,
            "mean": wide.mean().values,
            "std": wide.std(ddof=1).values,
            "mean_rank": ranks.mean().values,
            "fit_seconds": ok.groupby("candidate")["fit_seconds"].mean().reindex(wide.columns).values,
            "n_trials": ok.groupby("candidate")["n_trials"].mean().reindex(wide.columns).values,
        }
    )
    lb = lb.sort_values("mean", ascending=not gib).reset_index(drop=True)
    lb["p_vs_best"] = _p_vs_best(table, wide, gib)
    return lb.reset_index(drop=True)


def _p_vs_best(table: ResultTable, wide: pd.DataFrame, gib: bool) -> Any:
    from benchmark import stats

    if wide.shape[0] < 2 or wide.shape[1] < 2:
        return np.nan
    ok = table.ok
    n_train, n_test = float(ok["n_train"].mean()), float(ok["n_test"].mean())
    try:
        res = stats.compare_to_best(wide.dropna(), n_train=n_train, n_test=n_test, greater_is_better=gib)
    except Exception:
        return np.nan
    order = wide.mean().sort_values(ascending=not gib).index
    return res.reindex(order)["p_holm"].values


def compare(
    X: Any,
    y: Any,
    *,
    candidates: Sequence[Any] | None = None,
    trials: int = 20,
    folds: int = 5,
    repeats: int = 1,
    inner: int | float = 3,
    metric: str | None = None,
    seconds: float | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    jobs: int = 1,
    groups: Any = None,
    time: Any = None,
    kind: str | None = None,
    name: str = "data",
    out: str | Path | None = None,
    progress: bool = False,
    learning_curve: Any = True,
    budget_curve: bool = True,
    executor: str = "local",
    final: str = "refit",
) -> CompareResult:
    """Compare candidates on ``X, y`` with nested CV and the same tuning budget for each.

    ``candidates``: registered names or dicts ``{name, base, params, space}`` as in a suite
    (default: the ten classical candidates; the nets ``mlp``/``resnet``, the ensembles
    ``bagging``/``adaboost``/``voting``/``stacking`` and the post-hoc ``ensemble_selection``
    are there to add). ``metric`` drives tuning (default ROC AUC for
    classification, RMSE for regression); every applicable metric is recorded. ``out`` keeps
    the run directory there (default: a new temporary directory). ``learning_curve`` (fractions,
    or False) and ``budget_curve`` switch off the extra refits the report's curves need.
    ``executor``: ``local`` (default), ``dask-local`` (a Dask LocalCluster of ``jobs`` worker
    processes) or a Dask scheduler address ``tcp://HOST:PORT`` (see docs/cluster.md).
    ``final``: ``refit`` (the chosen configuration refitted on the outer training rows) or
    ``bag`` (the average of its inner-fold models' test predictions: no refit; every trial's
    test predictions are kept, so budget curves and post-hoc ensembles need no fits).
    """
    from benchmark.data.build import from_frame
    from benchmark.run.driver import run_suite

    task = from_frame(X, y, name=name, kind=kind, groups=groups, time=time)
    raw: dict[str, Any] = {
        "trials": trials, "folds": folds, "repeats": repeats, "inner": inner, "seed": seed, "sampler": sampler,
        "seconds": seconds, "metric": metric, "learning_curve": learning_curve, "budget_curve": budget_curve,
        "final": final,
    }
    try:
        settings = parse_settings(raw)
        cands = parse_candidates(list(candidates or DEFAULT_CANDIDATES))
    except InputError as err:
        raise InputError(err.detail, where=f"compare({err.where})" if err.where else "compare()") from None
    suite = Suite(name=name, tasks=(TaskConfig(name=name),), candidates=cands, source="compare()", **settings)
    if not suite.metric_for(task.kind):
        raise InputError(f"metric '{metric}' does not apply to a {task.kind} target", where="compare(metric)")
    run_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="bench-compare-"))
    try:
        from benchmark.run.executors import parse_executor

        executor = parse_executor(executor)
    except InputError as err:
        raise InputError(err.detail, where="compare(executor)") from None
    res = run_suite(suite, out=run_dir, jobs=jobs, progress=progress, tasks={name: task}, executor=executor)
    from benchmark.report import write_report

    write_report(res.run_dir)
    return CompareResult(run_dir=res.run_dir, metric=suite.metric_for(task.kind), table=res.table())
