"""A run reduced to what a regression check needs: :class:`Snapshot` and the run reader.

:func:`snapshot_from_run` reads a run directory through :mod:`benchmark.results` (the store and
:class:`~benchmark.results.table.ResultTable`, which keeps the latest record per job) into a
:class:`Snapshot`: per task × candidate × outer fold the state, test scores, times and fold hash,
plus the provenance that proves two runs are comparable (data, split and fold hashes, tuning
metric, folds/repeats/inner/seed) and the context that is reported but never refused (library
versions, machine, git commit, budgets).  :meth:`Snapshot.to_dict` is the content of a baseline
file (see :mod:`benchmark.ci.baseline`); :func:`incomplete_cells` lists what a run lacks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import InputError

FORMAT = "bench-baseline"
FORMAT_VERSION = 1

_ROW_KEYS = ("task", "candidate", "fold", "repeat", "state", "error", "fold_hash", "n_train", "n_test", "fit_seconds",
             "predict_seconds", "tune_seconds", "total_seconds", "cpu_seconds")


@dataclass(frozen=True)
class Snapshot:
    """A run reduced to what a regression check needs.

    ``meta``: suite_name, suite_hash, git_commit, created, versions, machine, protocol (the suite's
    settings: folds, repeats, inner, seed, model_seed, trials, seconds, sampler, metric, …),
    candidates ({name: {base, fixed, space_hash}}), candidate_order, run_dir (where the run was).  ``tasks``: {name: {data_hash, split_hash, kind,
    metric, n_rows}}.  ``rows``: one dict per task × candidate × outer fold with the keys
    task, candidate, fold, repeat, state, error, fold_hash, n_train, n_test, fit_seconds,
    predict_seconds, tune_seconds, total_seconds, cpu_seconds (the job's CPU time without
    learning/budget-curve refits) and ``scores`` ({metric: test score}).  ``source`` says where it came from.
    """

    source: str
    meta: Mapping[str, Any]
    tasks: Mapping[str, Mapping[str, Any]]
    rows: tuple[Mapping[str, Any], ...]

    @property
    def commit(self) -> str | None:
        return self.meta.get("git_commit")

    @property
    def created(self) -> str:
        return str(self.meta.get("created") or "")

    @property
    def suite_name(self) -> str:
        return str(self.meta.get("suite_name") or "")

    def candidates(self) -> list[str]:
        """Candidate names in run order."""
        order = list(self.meta.get("candidate_order") or [])
        seen = {r["candidate"] for r in self.rows}
        return [c for c in order if c in seen] + sorted(seen - set(order))

    def task_names(self) -> list[str]:
        return list(self.tasks)

    def cells(self) -> dict[tuple[str, str], dict[int, Mapping[str, Any]]]:
        """{(task, candidate): {fold: row}}."""
        out: dict[tuple[str, str], dict[int, Mapping[str, Any]]] = {}
        for r in self.rows:
            out.setdefault((r["task"], r["candidate"]), {})[int(r["fold"])] = r
        return out

    def to_dict(self) -> dict[str, Any]:
        """The baseline file's content (``format``, ``version``, ``meta``, ``tasks``, ``rows``)."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "meta": dict(self.meta),
                "tasks": {k: dict(v) for k, v in self.tasks.items()}, "rows": [dict(r) for r in self.rows]}

    def with_meta(self, **changes: Any) -> Snapshot:
        """A copy with some ``meta`` fields replaced (``None`` values are ignored)."""
        meta = dict(self.meta) | {k: v for k, v in changes.items() if v is not None}
        return Snapshot(self.source, meta, self.tasks, self.rows)


def finite_float(x: Any) -> float | None:
    """``x`` as a finite float, or ``None`` (missing, not a number, NaN or infinite)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def snapshot_from_run(run_dir: str | Path) -> Snapshot:
    """Read a run directory (``manifest.json`` + ``records.jsonl``) into a :class:`Snapshot`."""
    from benchmark.results.store import Store, read_unmixed
    from benchmark.results.table import ResultTable

    store = Store(run_dir)
    with store.reading():  # not while a run writes to it
        manifest, records = read_unmixed(store, hint=" (remove those lines or rerun into a new folder)")
    table = ResultTable.from_records(records, manifest)
    if table.df.empty:
        raise InputError(f"{run_dir}: no completed jobs in records.jsonl; run the suite first (bench run SUITE --out {run_dir})")
    score_cols = [c for c in table.df.columns if c.startswith("test_")]
    rows = []
    for rec in table.df.to_dict("records"):
        row: dict[str, Any] = {k: rec.get(k) for k in _ROW_KEYS}
        row["fold"] = int(row["fold"])
        row["repeat"] = int(finite_float(row.get("repeat")) or 0)
        for k in ("n_train", "n_test"):
            row[k] = int(finite_float(row[k]) or 0)
        curve_cpu = finite_float(rec.get("curve_cpu_seconds")) or 0.0  # learning/budget-curve refits: reporting extras
        if (cpu := finite_float(row["cpu_seconds"])) is not None:
            row["cpu_seconds"] = max(cpu - curve_cpu, 0.0)
        for k in ("fit_seconds", "predict_seconds", "tune_seconds", "total_seconds", "cpu_seconds"):
            v = finite_float(row[k])
            row[k] = None if v is None else round(v, 5)
        row["error"] = row["error"] if isinstance(row["error"], str) else None
        row["scores"] = {c[5:]: v for c in score_cols if (v := finite_float(rec.get(c))) is not None}
        rows.append(row)
    meta = _meta_from_manifest(manifest) | {"run_dir": str(run_dir)}
    return Snapshot(str(run_dir), meta, _tasks_from_manifest(manifest), tuple(rows))


def _meta_from_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    suite = manifest.get("suite") if isinstance(manifest.get("suite"), Mapping) else {}
    protocol = {k: v for k, v in suite.items() if k not in ("name", "description", "tasks", "candidates", "extra")}
    cands = manifest.get("candidates") if isinstance(manifest.get("candidates"), Mapping) else {}
    order = manifest.get("order") if isinstance(manifest.get("order"), Mapping) else {}
    return {
        "suite_name": suite.get("name"),
        "suite_hash": manifest.get("suite_hash"),
        "git_commit": manifest.get("git_commit"),
        "created": manifest.get("created"),
        "versions": dict(manifest.get("versions") or {}),
        "machine": dict(manifest.get("machine") or {}),
        "protocol": protocol,
        "candidates": {n: {"base": c.get("base"), "fixed": c.get("fixed"), "space_hash": _hash(c.get("spaces"))}
                       for n, c in cands.items() if isinstance(c, Mapping)},
        "candidate_order": list(order.get("candidates") or cands),
    }


def _hash(obj: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _tasks_from_manifest(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    tasks = manifest.get("tasks") if isinstance(manifest.get("tasks"), Mapping) else {}
    return {n: {k: t.get(k) for k in ("data_hash", "split_hash", "kind", "metric", "n_rows")} for n, t in tasks.items() if isinstance(t, Mapping)}


def incomplete_cells(snap: Snapshot) -> list[str]:
    """Task × candidate cells with fewer folds than the task's fullest cell, and absent cells.

    Returns human-readable descriptions (empty: the run is complete).
    """
    cells = snap.cells()
    out = []
    cands = list(snap.meta.get("candidates") or snap.candidates())
    for task in snap.tasks:
        folds = set().union(*(set(f) for (t, _), f in cells.items() if t == task)) if cells else set()
        for cand in cands:
            have = set(cells.get((task, cand), {}))
            if not have:
                out.append(f"{task}/{cand}: no results")
            elif have != folds:
                out.append(f"{task}/{cand}: {len(have)} of {len(folds)} folds")
    return out
