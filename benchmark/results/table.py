"""ResultTable: the tidy, flat view of a run's records, and the aggregations over it.

One row per (task, candidate, outer fold) with prefixed columns (``test_<metric>``,
``train_<metric>``, ``fit_seconds``, ``n_trials``, ``state`` …). Aggregation is a method here,
never a side effect of running.  A run directory is read here: from its records
(:meth:`ResultTable.from_run`) or, where only the export is at hand, from ``results.csv``
(:meth:`ResultTable.from_export`); either way the latest record per job wins (:func:`~benchmark.results.records.latest_jobs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import InputError
from benchmark.metrics import METRICS, greater_is_better
from benchmark.results.records import JOB_KEY, latest_jobs
from benchmark.results.store import Store
from benchmark.serialize import csv_text, csv_uncell, write_text_atomic

# Record fields that are lists of dicts (and a bag job's tuned_ensembled): kept in records.jsonl (and trials.csv), not in the flat table.
_NESTED = ("trials", "traceback", "type", "learning_curve", "budget_curve", "epoch_history", "tuned_ensembled")
RESULTS_CSV = "results.csv"
_FIRST = ["task", "candidate", "fold", "repeat", "state", "metric", "n_trials", "n_failed_trials", "fit_seconds", "predict_seconds", "tune_seconds", "total_seconds", "cpu_seconds"]


@dataclass(frozen=True)
class ResultTable:
    """Results of a run as a DataFrame plus the task metadata needed to read them (``suite``: the suite as run)."""

    df: pd.DataFrame
    tasks: dict[str, dict[str, Any]]
    candidates: list[str]
    suite: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], manifest: dict[str, Any]) -> ResultTable:
        """One row per job from its latest record (:func:`~benchmark.results.records.latest_jobs`)."""
        rows = []
        for r in latest_jobs(records):
            row = {k: v for k, v in r.items() if k not in _NESTED}
            if isinstance(row.get("best_params"), dict):
                row["best_params"] = json.dumps(row["best_params"], sort_keys=True, default=str)
            rows.append(row)
        df = pd.DataFrame(rows)
        if df.empty:
            df = pd.DataFrame(columns=_FIRST)
        metric_cols = sorted(c for c in df.columns if c.startswith(("test_", "train_")))
        first = [c for c in _FIRST if c in df.columns]
        rest = [c for c in df.columns if c not in first and c not in metric_cols]
        df = df[first + metric_cols + rest].sort_values(["task", "candidate", "fold"], kind="stable").reset_index(drop=True)
        order = manifest.get("order", {})
        cands = list(order.get("candidates") or manifest.get("candidates", {})) or sorted(df["candidate"].unique())
        tasks = manifest.get("tasks", {})
        tasks = {t: tasks[t] for t in order.get("tasks", []) if t in tasks} | tasks
        return cls(df=df, tasks=tasks, candidates=cands, suite=dict(manifest.get("suite") or {}))

    @classmethod
    def from_run(cls, run_dir: str | Path) -> ResultTable:
        store = Store(run_dir)
        return cls.from_records(list(store.records()), store.read_manifest())

    @classmethod
    def from_export(cls, run_dir: str | Path) -> ResultTable:
        """The run's exported ``results.csv`` as it is (task and candidate names as text, the latest
        row per job), with the manifest's tasks and suite when ``manifest.json`` is there; candidates
        sorted by name.  :class:`InputError` for a file that cannot be parsed."""
        path = Path(run_dir) / RESULTS_CSV
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot parse ({exc})") from exc
        df.columns = [csv_uncell(str(c)) for c in df.columns]
        for col in df.select_dtypes(exclude=["number", "bool"]).columns:
            df[col] = df[col].map(csv_uncell)  # undo the formula guard of csv_text
        for col in ("task", "candidate"):
            if col in df.columns:
                df[col] = df[col].astype(str)
        if set(JOB_KEY) <= set(df.columns):
            df = latest_per_job(df).reset_index(drop=True)
        manifest = Store(run_dir).read_manifest_if_present()
        tasks = manifest.get("tasks") if isinstance(manifest.get("tasks"), dict) else {}
        suite = manifest.get("suite") if isinstance(manifest.get("suite"), dict) else {}
        cands = sorted(df["candidate"].unique()) if "candidate" in df.columns else []
        return cls(df=df, tasks=tasks, candidates=cands, suite=suite)

    # ------------------------------------------------------------------------------------------
    @property
    def ok(self) -> pd.DataFrame:
        return self.df[self.df["state"] == "ok"] if "state" in self.df else self.df

    def metrics(self) -> list[str]:
        """Test metrics present in the table, in the canonical order."""
        return [m for m in METRICS if f"test_{m}" in self.df.columns and self.df[f"test_{m}"].notna().any()]

    def task_metric(self, task: str) -> str:
        return self.tasks.get(task, {}).get("metric") or _first(self.df.loc[self.df["task"] == task, "metric"])

    def aggregate(self, metric: str | None = None) -> pd.DataFrame:
        """Mean, std and count over outer folds per (task, candidate).

        ``metric=None`` uses each task's tuning metric. Columns: task, candidate, metric, mean,
        std, n_folds, n_failed, greater_is_better, fit_seconds, n_trials.
        """
        rows = []
        for (task, cand), grp in self.df.groupby(["task", "candidate"], sort=False):
            m = metric or self.task_metric(task)
            col = f"test_{m}"
            ok = grp[grp["state"] == "ok"] if "state" in grp else grp
            vals = ok[col].astype(float).dropna() if col in ok else pd.Series(dtype=float)
            rows.append(
                {
                    "task": task,
                    "candidate": cand,
                    "metric": m,
                    "mean": vals.mean() if len(vals) else np.nan,
                    "std": vals.std(ddof=1) if len(vals) > 1 else np.nan,
                    "n_folds": int(len(vals)),
                    "n_failed": int((grp["state"] != "ok").sum()) if "state" in grp else 0,
                    "greater_is_better": greater_is_better(m),
                    "fit_seconds": ok["fit_seconds"].mean() if "fit_seconds" in ok and len(ok) else np.nan,
                    "n_trials": ok["n_trials"].mean() if "n_trials" in ok and len(ok) else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def to_block(self, metric: str | None = None, *, oriented: bool = False) -> pd.DataFrame:
        """Datasets × candidates matrix of mean test scores (NaN where a candidate has no result).

        With ``metric=None`` each task uses its tuning metric; pass ``oriented=True`` to negate
        lower-is-better scores so that the whole block is higher-is-better (needed when tasks
        use different metrics).
        """
        agg = self.aggregate(metric)
        if agg.empty:
            return pd.DataFrame()
        if oriented:
            agg = agg.assign(mean=np.where(agg["greater_is_better"], agg["mean"], -agg["mean"]))
        block = agg.pivot(index="task", columns="candidate", values="mean")
        cols = [c for c in self.candidates if c in block.columns] + [c for c in block.columns if c not in self.candidates]
        return block[cols]

    def normalized_block(self, metric: str | None = None) -> pd.DataFrame:
        """Per task, scores rescaled to [0, 1]: 0 = the worst candidate's mean, 1 = the best's.

        Comparable across tasks with different metrics (all candidates equal → 1).
        """
        return normalise_rows(self.to_block(metric, oriented=True))

    def leaderboard(self, metric: str | None = None) -> pd.DataFrame:
        """Per candidate: mean rank across tasks (1 = best), mean normalised score, mean score, wins.

        ``metric=None`` ranks each task by its tuning metric. ``mean_score`` is NaN when tasks
        use different metrics (averaging an AUC with an RMSE means nothing). Sorted best first.
        """
        agg = self.aggregate(metric)
        if agg.empty:
            return pd.DataFrame(columns=["candidate", "mean_rank", "normalized_score", "mean_score", "std_score", "wins", "n_tasks", "n_failed"])
        block = self.to_block(metric, oriented=True)
        ranks = block.rank(axis=1, ascending=False, method="average", na_option="bottom")
        wins = (ranks == 1).sum()
        norm = self.normalized_block(metric)
        one_metric = agg["metric"].nunique() == 1
        rows = []
        for cand in block.columns:
            sub = agg[agg["candidate"] == cand]
            rows.append(
                {
                    "candidate": cand,
                    "mean_rank": ranks[cand].mean(),
                    "normalized_score": norm[cand].mean(),
                    "mean_score": sub["mean"].mean() if one_metric else np.nan,
                    "std_score": sub["std"].mean() if one_metric else np.nan,
                    "wins": int(wins[cand]),
                    "n_tasks": int(sub["mean"].notna().sum()),
                    "n_failed": int(sub["n_failed"].sum()),
                    "fit_seconds": sub["fit_seconds"].mean(),
                    "n_trials": sub["n_trials"].mean(),
                }
            )
        return pd.DataFrame(rows).sort_values(["mean_rank", "candidate"]).reset_index(drop=True)


def normalise_rows(block: pd.DataFrame) -> pd.DataFrame:
    """Per row of a higher-is-better block, 0 = the lowest value and 1 = the highest (all equal → 1; NaN stays NaN)."""
    lo, hi = block.min(axis=1), block.max(axis=1)
    norm = block.sub(lo, axis=0).div((hi - lo).replace(0, np.nan), axis=0)
    norm.loc[hi == lo] = 1.0  # every candidate scored the same on this task
    return norm.where(block.notna())


def trials_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per tuning trial: task, candidate, fold, number, value, state, seconds, params."""
    rows = []
    for r in records:
        if r.get("type") != "job":
            continue
        for t in r.get("trials") or []:
            rows.append(
                {
                    "task": r["task"],
                    "candidate": r["candidate"],
                    "fold": r["fold"],
                    "number": t.get("number"),
                    "value": t.get("value"),
                    "state": t.get("state"),
                    "seconds": t.get("seconds"),
                    "params": json.dumps(t.get("params"), sort_keys=True, default=str),
                    "error": (t.get("error") or "").splitlines()[0] if t.get("error") else None,
                }
            )
    return pd.DataFrame(rows, columns=["task", "candidate", "fold", "number", "value", "state", "seconds", "params", "error"])


def export_run(run_dir: str | Path) -> ResultTable:
    """Rebuild ``results.csv`` and ``trials.csv`` from the records (atomic replace)."""
    store = Store(run_dir)
    records = list(store.records())
    table = ResultTable.from_records(records, store.read_manifest())
    for name, frame in ((RESULTS_CSV, table.df), ("trials.csv", trials_frame(records))):
        write_text_atomic(Path(run_dir) / name, csv_text(frame))
    return table


def latest_per_job(df: pd.DataFrame) -> pd.DataFrame:
    """One row per job (task, candidate, outer fold) of an exported table: the last one, as
    :func:`~benchmark.results.records.latest_jobs` does for records."""
    return df.drop_duplicates(subset=list(JOB_KEY), keep="last")


def _first(s: pd.Series) -> str:
    return str(s.iloc[0]) if len(s) else ""
