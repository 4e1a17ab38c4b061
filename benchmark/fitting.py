"""The worker: one job = one (task, candidate, outer fold). Pure, module-level, picklable.

``run_job(job)`` tunes on the fold's inner splits within the budget, refits the best
configuration on the whole outer training set, scores the outer test fold (and the training
rows) with every applicable metric, and returns a flat record. Failure is data: an exception
becomes a record with ``state="failed"``, the error and its traceback.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from benchmark.candidates import CandidateConfig, Schema, build_estimator
from benchmark.config import TaskConfig
from benchmark.metrics import score_all
from benchmark.splits import Fold
from benchmark.tuning import TuningFailed, predict_output, tune


@dataclass(frozen=True)
class TaskRef:
    """How a worker gets a task's data: a loader config, or an in-memory task handed over once."""

    name: str
    data_hash: str
    config: TaskConfig | None = None
    base_dir: str = "."
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Job:
    """Everything one worker call needs, as plain data."""

    task: TaskRef
    candidate: CandidateConfig
    fold: Fold
    metric: str
    trials: int
    seconds: float | None
    sampler: str
    seed: int
    split_hash: str
    n_threads: int = 1

    @property
    def key(self) -> str:
        return job_key(self.task.name, self.candidate.name, self.fold.index)


def job_key(task: str, candidate: str, fold: int) -> str:
    """The store's identity of a job (resume skips keys already recorded)."""
    return f"{task}\x1f{candidate}\x1f{fold}"


# Per-process cache of loaded tasks, so a worker loads each task's data once, not once per job.
_TASK_CACHE: dict[tuple[str, str], Any] = {}


def preload_tasks(tasks: dict[str, Any]) -> None:
    """Put in-memory tasks into this process's cache (executor initializer)."""
    for task in tasks.values():
        _TASK_CACHE[(task.name, task.data_hash)] = task


def get_task(ref: TaskRef):
    """Return the task for ``ref`` from the cache, loading it on first use and checking its hash."""
    key = (ref.name, ref.data_hash)
    if key not in _TASK_CACHE:
        if ref.config is None:
            raise RuntimeError(f"in-memory task '{ref.name}' was not handed to this worker")
        from benchmark.tasks import load_task

        task = load_task(ref.config, base_dir=ref.base_dir, seed=ref.seed)
        if task.data_hash != ref.data_hash:
            raise RuntimeError(f"data of task '{ref.name}' changed while the run was going (hash {task.data_hash[:12]} ≠ {ref.data_hash[:12]})")
        _TASK_CACHE[key] = task
    return _TASK_CACHE[key]


def fold_hash(fold: Fold) -> str:
    """Hash of one outer fold's train/test/inner indices (equal for every candidate on that fold)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for arr in (fold.train, fold.test, *[a for pair in fold.inner for a in pair]):
        h.update(np.asarray(arr, dtype=np.int64).tobytes() + b"|")
    return h.hexdigest()[:16]


def schema_of(task) -> Schema:
    return Schema(
        kind=task.kind,
        categorical=tuple(task.categorical_columns),
        numeric=tuple(task.numeric_columns),
        n_classes=len(task.classes) if task.classes is not None else 0,
    )


def run_job(job: Job) -> dict[str, Any]:
    """Tune, refit and score one job; always returns a record (``state`` ok or failed)."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0, c0 = time.perf_counter(), time.process_time()
    rec: dict[str, Any] = {
        "type": "job",
        "key": job.key,
        "task": job.task.name,
        "candidate": job.candidate.name,
        "base": job.candidate.base,
        "fold": job.fold.index,
        "repeat": job.fold.repeat,
        "metric": job.metric,
        "seed": job.seed,
        "data_hash": job.task.data_hash,
        "split_hash": job.split_hash,
        "fold_hash": fold_hash(job.fold),
        "n_train": int(len(job.fold.train)),
        "n_test": int(len(job.fold.test)),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": started,
    }
    try:
        rec.update(_fit_and_score(job))
        rec["state"] = "ok"
    except Exception as exc:  # failure is data
        rec["state"] = "failed"
        rec["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        rec["traceback"] = traceback.format_exc(limit=-8)
        if isinstance(exc, TuningFailed):
            rec["trials"] = [r.to_dict() for r in exc.trials]
            rec["n_trials"] = len(exc.trials)
            rec["n_failed_trials"] = len(exc.trials)
    rec["total_seconds"] = time.perf_counter() - t0
    rec["cpu_seconds"] = time.process_time() - c0
    return rec


def _fit_and_score(job: Job) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    task = get_task(job.task)
    schema = schema_of(task)
    X, y = task.X, task.y
    train, test = job.fold.train, job.fold.test
    Xtr, ytr = X.iloc[train], y[train]
    out: dict[str, Any] = {}
    with threadpool_limits(limits=job.n_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        result = tune(
            job.candidate, schema, Xtr, ytr, job.fold.inner,
            metric=job.metric, trials=job.trials, seconds=job.seconds,
            sampler=job.sampler, seed=job.seed, n_threads=job.n_threads,
        )
        out["tune_seconds"] = time.perf_counter() - t
        out["trials"] = [r.to_dict() for r in result.trials]
        out["n_trials"] = len(result.trials)
        out["n_failed_trials"] = sum(r.state != "ok" for r in result.trials)
        out["best_params"] = result.best_params
        out["best_inner_score"] = result.best_value
        est = build_estimator(job.candidate, schema, result.best_params, seed=job.seed, n_threads=job.n_threads)
        t = time.perf_counter()
        est.fit(Xtr, ytr)
        out["fit_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        test_out = predict_output(est, X.iloc[test], schema)
        out["predict_seconds"] = time.perf_counter() - t
        train_out = predict_output(est, Xtr, schema)
    for name, value in score_all(schema.kind, y[test], test_out, schema.n_classes).items():
        out[f"test_{name}"] = value
    for name, value in score_all(schema.kind, ytr, train_out, schema.n_classes).items():
        out[f"train_{name}"] = value
    return out

