"""The library call: a fair comparison on your own data in one line.

>>> from benchmark import compare
>>> result = compare(X, y, candidates=["linear", "random_forest"], trials=20, folds=5, metric="roc_auc")
>>> result.leaderboard          # <metric>_mean ± _std over outer folds, mean rank, n_failed
>>> result.best_estimator_      # the winner tuned on all rows and refitted (not the reported estimate)
>>> result.results              # tidy: one row per candidate × outer fold
>>> result.write_report("comparison.html")
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from benchmark.candidates.custom import Candidate
from benchmark.config import Suite, TaskConfig, parse_candidates, parse_settings
from benchmark.errors import InputError
from benchmark.metrics import greater_is_better
from benchmark.results.table import ResultTable

DEFAULT_CANDIDATES = ("dummy", "linear", "knn", "svm", "random_forest", "extra_trees", "hist_gb", "xgboost", "lightgbm", "catboost")


@dataclass
class CompareResult:
    """What :func:`compare` returns: the comparison's records, tables and report.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run folder (``records.jsonl``, ``results.csv``, ``trials.csv``, ``report.html``). Without
        ``compare(out=...)`` it is a temporary folder, removed when this object is garbage
        collected or the interpreter exits.
    metric : str
        The tuning metric (the leaderboard's columns are named after it).
    table : benchmark.results.table.ResultTable
        The records as a table (one row per candidate × outer fold).

    Examples
    --------
    >>> result = compare(X, y, candidates=["linear", "random_forest"], trials=5)  # doctest: +SKIP
    >>> result.leaderboard                                                         # doctest: +SKIP
    >>> result.best_estimator_.predict(X_new)                                      # doctest: +SKIP
    """

    run_dir: Path
    metric: str
    table: ResultTable
    #: what fit_best() needs: the suite as run and the in-memory task (not part of the public API)
    suite: Any = field(default=None, repr=False)
    task: Any = field(default=None, repr=False)
    _tmp: Any = field(default=None, repr=False)
    _best: Any = field(default=None, repr=False)

    @property
    def results(self) -> pd.DataFrame:
        """One row per candidate × outer fold: ``state``, ``test_<metric>`` for every metric,
        ``fit_seconds``, ``n_trials``, ``best_params`` (a dict) …"""
        df = self.table.df.copy()
        if "best_params" in df:
            df["best_params"] = [json.loads(v) if isinstance(v, str) else v for v in df["best_params"]]
        return df

    @property
    def trials(self) -> pd.DataFrame:
        """One row per tuning trial: candidate, fold, number (0 = the candidate's own defaults),
        value (mean inner score), state, seconds, params (a dict), error."""
        from benchmark.results.store import Store
        from benchmark.results.table import trials_frame

        df = trials_frame(list(Store(self.run_dir).records()))
        df["params"] = [json.loads(v) if isinstance(v, str) else v for v in df["params"]]
        return df

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Per candidate: ``<metric>_mean`` and ``<metric>_std`` over outer folds, mean rank over
        folds (1 = best; a failed fold ranks last), ``n_folds``, ``n_failed``, and the Holm-adjusted
        p-value of the corrected t-test against the best. Failed candidates stay, ranked last."""
        return fold_leaderboard(self.table, self.metric)

    @property
    def best_candidate(self) -> str:
        """The leaderboard's first candidate."""
        return str(self.leaderboard["candidate"].iloc[0])

    def fit_best(self, candidate: str | None = None, *, trials: int | None = None) -> Any:
        """Tune the winner on **all** rows and refit it, as ``GridSearchCV`` does.

        Parameters
        ----------
        candidate : str, optional
            Which candidate (default: :attr:`best_candidate`).
        trials : int, optional
            Tuning budget (default: the comparison's ``trials``, same sampler and inner splits).

        Returns
        -------
        benchmark.run.winner.FittedWinner
            ``predict``/``predict_proba`` on new rows given like ``X``; the fitted scikit-learn
            estimator is ``.estimator``, the chosen configuration ``.best_params``.

        Notes
        -----
        This model is **not** the estimate the comparison reports: the leaderboard comes from
        nested cross-validation, while this model is tuned by cross-validation on every row and
        refitted on every row, so no score of it is held out. Use it to deploy the winner, and
        the leaderboard to say how well such a model does.
        """
        from benchmark.run.winner import fit_winner

        if self.suite is None or self.task is None:
            raise InputError("this result has no data attached (it was not made by compare())", where="fit_best()")
        name = candidate or self.best_candidate
        configs = {c.name: c for c in self.suite.candidates}
        if name not in configs:
            raise InputError(f"no candidate '{name}' (candidates: {', '.join(configs)})", where="fit_best(candidate)")
        s = self.suite
        return fit_winner(configs[name], self.task, metric=self.metric, trials=trials or s.trials, seconds=s.seconds,
                          sampler=s.sampler, seed=s.effective_model_seed, inner=s.inner)

    @property
    def best_estimator_(self) -> Any:
        """:meth:`fit_best` of the winner, fitted on first access and kept."""
        if self._best is None:
            self._best = self.fit_best()
        return self._best

    def write_report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path`` (parent folders are created).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        InputError
            The folder cannot be created (one line naming it).
        """
        from benchmark.report import write_report

        parent = Path(path).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create folder {parent} ({exc.strerror or exc}); choose another path", where="write_report(path)") from None
        return write_report(self.run_dir, out=path)

    def export(self, out: str | Path | None = None, formats: Sequence[str] | str = "all", *, mlflow: bool | str | None = None) -> list[Path]:
        """``bench export``: tables (LaTeX, CSV), figures (SVG, PDF) and Parquet into ``out`` (default
        ``<run_dir>/export``); ``mlflow=True`` (local store in the run directory) or a tracking URI
        also logs the run to MLflow.  Returns the files written."""
        from benchmark.export import parse_formats
        from benchmark.export.files import export

        written = export(self.run_dir, out, parse_formats(formats) if isinstance(formats, str) else tuple(formats))
        if mlflow:
            from benchmark.export.tracking import log_run

            log_run(self.run_dir, mlflow if isinstance(mlflow, str) else None, artifacts=written)
        return written

    def __repr__(self) -> str:
        return f"CompareResult(metric={self.metric!r}, run_dir={str(self.run_dir)!r})\n{self.leaderboard.to_string(index=False)}"


def fold_leaderboard(table: ResultTable, metric: str) -> pd.DataFrame:
    """Leaderboard for one task: mean/std over folds, mean per-fold rank, test against the best.

    Every candidate of the run is listed; folds where a candidate failed count as last in that
    fold's ranking, and a candidate with no successful fold is ranked last overall.
    """
    ok = table.ok
    df = table.df
    col = f"test_{metric}"
    gib = greater_is_better(metric)
    names = list(dict.fromkeys([c for c in table.candidates if c in set(df["candidate"])] + list(df["candidate"].unique())))
    folds = sorted(df["fold"].unique()) if len(df) else []
    wide_ok = ok.pivot_table(index="fold", columns="candidate", values=col, aggfunc="mean") if len(ok) else pd.DataFrame()
    wide = wide_ok.reindex(index=folds, columns=names)
    ranks = wide.rank(axis=1, ascending=not gib, method="average", na_option="bottom")
    n_failed = (df["state"] != "ok").groupby(df["candidate"]).sum().reindex(names).fillna(0).astype(int)
    lb = pd.DataFrame(
        {
            "candidate": names,
            f"{metric}_mean": wide.mean().values,
            f"{metric}_std": wide.std(ddof=1).values,
            "mean_rank": ranks.mean().values,
            "n_folds": wide.notna().sum().values.astype(int),
            "n_failed": n_failed.values,
            "fit_seconds": ok.groupby("candidate")["fit_seconds"].mean().reindex(names).values if len(ok) else np.nan,
            "n_trials": ok.groupby("candidate")["n_trials"].mean().reindex(names).values if len(ok) else np.nan,
        }
    )
    lb["_none"] = lb["n_folds"] == 0
    lb = lb.sort_values(["_none", f"{metric}_mean"], ascending=[True, not gib], na_position="last").drop(columns="_none").reset_index(drop=True)
    good = [c for c in wide_ok.columns if wide_ok[c].notna().any()] if len(wide_ok) else []
    p = pd.Series(_p_vs_best(table, wide_ok[good], gib) if good else np.nan, index=_order(wide_ok[good], gib) if good else None, dtype=float)
    lb["p_vs_best"] = lb["candidate"].map(p) if good else np.nan
    return lb


def _order(wide: pd.DataFrame, gib: bool) -> pd.Index:
    return wide.mean().sort_values(ascending=not gib).index


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
    X: ArrayLike | pd.DataFrame,
    y: ArrayLike | pd.Series,
    *,
    candidates: str | Candidate | Any | Sequence[str | Mapping[str, Any] | Candidate | Any] | None = None,
    trials: int = 20,
    folds: int = 5,
    repeats: int = 1,
    inner: int | float = 3,
    metric: str | None = None,
    seconds: float | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    jobs: int = 1,
    groups: ArrayLike | pd.Series | str | None = None,
    time: ArrayLike | pd.Series | str | None = None,
    kind: str | None = None,
    name: str = "data",
    out: str | Path | None = None,
    progress: bool | None = None,
    learning_curve: bool | Sequence[float] = True,
    budget_curve: bool = True,
    executor: str = "local",
    mlflow: bool | str | None = None,
    final: str = "refit",
) -> CompareResult:
    """Compare candidates on ``X, y`` with nested CV and the same tuning budget for each.

    Parameters
    ----------
    X : DataFrame or 2-D array-like
        Features; text/category/bool columns are categorical, missing values are allowed.
        Infinite values are refused (replace them with NaN to treat them as missing).
    y : Series or 1-D array-like
        Target. When ``X`` and ``y`` are both pandas objects they are matched **by index label**:
        the same labels in another order are reordered to ``X``; different labels are an error.
    candidates : str, Candidate, estimator, or a list of them, optional
        Registered names (``"xgboost"``; a single string is one candidate), dicts
        ``{name, base, params, space}`` as in a suite, :class:`~benchmark.candidates.Candidate`
        (your own estimator with a search space), or a bare estimator instance/class (tuned over
        nothing: its own parameters only). Default: the ten classical candidates.
    trials : int
        Configurations tried per candidate per outer fold; trial 0 is each candidate's own defaults.
    folds, repeats, inner : int
        Outer folds, repeats of the outer CV, inner folds (or a holdout fraction like 0.2).
    metric : str, optional
        Drives tuning and ranking (default ROC AUC for classification, RMSE for regression);
        every applicable metric is recorded.
    seconds : float, optional
        Wall-clock cap on each candidate's tuning per fold.
    sampler : {"tpe", "random"}
    seed : int
        Decides the splits, the models' seeds and the sampler.
    jobs : int
        Worker processes (``executor="local"``) or Dask workers (``"dask-local"``). Works in a
        script without an ``if __name__ == "__main__":`` guard and in notebooks: workers never
        re-run your script, and your own estimators travel to them by value (cloudpickle).
    groups, time : array-like or column name, optional
        Grouped or time-ordered folds.
    kind : {"binary", "multiclass", "classification", "regression"}, optional
    name : str
        The task's name in the report.
    out : str or Path, optional
        Keep the run folder there. Default: a temporary folder, removed when the result is
        garbage collected (or at exit); pass ``out`` to keep the records and the report.
    progress : bool, optional
        Progress bar on stderr (default: on when stderr is a terminal).
    learning_curve, budget_curve :
        False switches off the extra refits the report's curves need.
    executor : str
        ``"local"``, ``"dask-local"`` or a scheduler address ``"tcp://HOST:PORT"``.
    mlflow : bool or str, optional
        ``True`` or a tracking URI logs the finished comparison to MLflow (one parent run, one
        child run per outer fold and candidate; needs the ``mlflow`` extra). ``True`` uses a
        local store: ``<out>/mlflow`` when ``out`` is given, else ``./mlruns`` (the temporary
        run folder is removed).
    final : {"refit", "bag"}
        ``refit``: the chosen configuration refitted on the outer training rows. ``bag``: the
        average of its inner-fold models' test predictions, no refit; every trial's test
        predictions are kept, so budget curves and post-hoc ensembles need no fits.

    Returns
    -------
    CompareResult
        ``.leaderboard``, ``.results``, ``.trials``, ``.write_report(path)``, ``.fit_best()`` /
        ``.best_estimator_``.

    Raises
    ------
    InputError
        Bad input, one line naming the argument (``compare(candidates[2].space.max_depth)``).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> result = compare(X, y, candidates=["linear", "random_forest"], trials=5, folds=3)  # doctest: +SKIP
    >>> result.leaderboard                                                                # doctest: +SKIP
    """
    from benchmark.data.build import from_frame
    from benchmark.run.driver import run_suite
    from benchmark.run.executors import refuse_while_bootstrapping

    refuse_while_bootstrapping("compare()")
    if mlflow:  # refuse before running, not after
        from benchmark.export.tracking import require_mlflow

        require_mlflow()
    task = from_frame(X, y, name=name, kind=kind, groups=groups, time=time)
    raw: dict[str, Any] = {
        "trials": trials, "folds": folds, "repeats": repeats, "inner": inner, "seed": seed, "sampler": sampler,
        "seconds": seconds, "metric": metric, "learning_curve": learning_curve, "budget_curve": budget_curve,
        "final": final,
    }
    try:
        settings = parse_settings(raw)
        cands = parse_candidates(_candidate_list(candidates))
    except InputError as err:
        raise InputError(err.detail, where=f"compare({err.where})" if err.where else "compare()") from None
    suite = Suite(name=name, tasks=(TaskConfig(name=name),), candidates=cands, source="compare()", **settings)
    if not suite.metric_for(task.kind):
        raise InputError(f"metric '{metric}' does not apply to a {task.kind} target", where="compare(metric)")
    try:
        from benchmark.run.executors import parse_executor

        executor = parse_executor(executor)
    except InputError as err:
        raise InputError(err.detail, where="compare(executor)") from None
    tmp = tempfile.TemporaryDirectory(prefix="bench-compare-") if out is None else None
    run_dir = Path(out) if out is not None else Path(tmp.name) / "run"
    try:
        res = run_suite(suite, out=run_dir, jobs=jobs, progress=sys.stderr.isatty() if progress is None else progress,
                        tasks={name: task}, executor=executor)
        from benchmark.report import write_report

        write_report(res.run_dir)
        if mlflow:
            from benchmark.export.tracking import log_run

            log_run(res.run_dir, mlflow if isinstance(mlflow, str) else _local_mlflow_store(out))
    except InputError as err:
        if tmp is not None:
            tmp.cleanup()
        if err.where and err.where.startswith("compare(): "):  # a candidate check: name the argument as above
            raise InputError(err.detail, where=f"compare({err.where[len('compare(): '):]})") from None
        raise
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    return CompareResult(run_dir=res.run_dir, metric=suite.metric_for(task.kind), table=res.table(), suite=suite, task=task, _tmp=tmp)


def _candidate_list(candidates: Any) -> list[Any]:
    """``candidates`` as a list: a single name, Candidate or estimator is one candidate."""
    if candidates is None:
        return list(DEFAULT_CANDIDATES)
    if isinstance(candidates, (str, Mapping, Candidate)) or _is_estimator(candidates):
        candidates = [candidates]
    return [Candidate(_auto_name(c), c) if _is_estimator(c) else c for c in candidates]


def _is_estimator(obj: Any) -> bool:
    return not isinstance(obj, (str, Mapping, Candidate, list, tuple)) and (hasattr(obj, "fit") or isinstance(obj, type))


def _auto_name(obj: Any) -> str:
    return obj.__name__ if isinstance(obj, type) else type(obj).__name__


def _local_mlflow_store(out: str | Path | None) -> str | None:
    """``mlflow=True``: the run directory's own store when it is kept, else ``./mlruns`` (a temporary run folder is removed)."""
    return None if out is not None else str(Path("mlruns").resolve())
