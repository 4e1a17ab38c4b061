"""The worker: one job = one (task, candidate, outer fold). Pure, module-level, picklable.

``run_job(job)`` tunes on the fold's inner splits within the budget, refits the best
configuration on the whole outer training set, scores the outer test fold (and the training
rows) with every applicable metric, and returns a flat record. Failure is data: an exception
becomes a record with ``state="failed"``, the error and its traceback.

After the final refit the worker adds the curve records (see :mod:`benchmark.run.curves`):
``learning_curve`` (the tuned configuration refitted on nested subsamples of the outer training
rows), ``budget_curve`` (the outer-test score of the configuration that would have been chosen
after 1, 2, 5, 10, … trials) and, for estimators that log it, ``epoch_history``.  A failed curve
fit is recorded in its point and never fails the job.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.candidates import CandidateConfig, Schema, build_estimator
from benchmark.candidates.early_stopping import refit_rounds
from benchmark.candidates.ensembles import count_base_fits
from benchmark.candidates.outputs import (
    boosting_rounds,
    epoch_history,
    fit_device,
    gpu_seconds,
    predict_output,
)
from benchmark.data.task import TaskConfig
from benchmark.metrics import score_all
from benchmark.results.records import job_id, n_fits
from benchmark.run.limits import FitTimeout, fit_limit
from benchmark.run.records import computed_record, error_line, fold_hash
from benchmark.run.tuning import tune
from benchmark.splits import Fold


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
    learning_curve: tuple[float, ...] = ()
    budget_curve: bool = False
    keep_oof: bool = False  # return the trials' out-of-fold predictions (``_oof``) for ensemble selection
    timeout: float | None = None  # seconds each model fit may take (the suite's ``timeout``)
    final: str = "refit"  # "refit" the chosen configuration, or "bag" its inner-fold models (benchmark.run.bagged)

    @property
    def key(self) -> str:
        return job_id(self.task.name, self.candidate.name, self.fold.index)


# Per-process cache of loaded tasks, so a worker loads each task's data once, not once per job.
# Keyed by (task name, data hash); read and changed only through the functions below.
_TASK_CACHE: dict[tuple[str, str], Any] = {}


def cache_task(task: Any) -> None:
    """Put one loaded task into this process's cache (under its name and data hash)."""
    _TASK_CACHE[(task.name, task.data_hash)] = task


def preload_tasks(tasks: dict[str, Any]) -> None:
    """Put in-memory tasks into this process's cache (executor initializer)."""
    for task in tasks.values():
        cache_task(task)


def forget_tasks(keys: Iterable[Sequence[str]] | None = None) -> int:
    """Drop the tasks with these ``(name, data_hash)`` keys from this process's cache (None: all);
    return how many were held."""
    if keys is None:
        n = len(_TASK_CACHE)
        _TASK_CACHE.clear()
        return n
    return sum(_TASK_CACHE.pop(tuple(k), None) is not None for k in keys)


def cached_task_count() -> int:
    """How many tasks this process holds in its cache."""
    return len(_TASK_CACHE)


def get_task(ref: TaskRef):
    """Return the task for ``ref`` from the cache, loading it on first use and checking its hash."""
    key = (ref.name, ref.data_hash)
    if key not in _TASK_CACHE:
        if ref.config is None:
            raise RuntimeError(f"in-memory task '{ref.name}' was not handed to this worker")
        from benchmark.data.resolve import load_task

        task = load_task(ref.config, base_dir=ref.base_dir, seed=ref.seed)
        if task.data_hash != ref.data_hash:
            raise RuntimeError(f"data of task '{ref.name}' changed while the run was going (hash {task.data_hash[:12]} ≠ {ref.data_hash[:12]})")
        _TASK_CACHE[key] = task
    return _TASK_CACHE[key]


def schema_of(task) -> Schema:
    return Schema(
        kind=task.kind,
        categorical=tuple(task.categorical_columns),
        numeric=tuple(task.numeric_columns),
        n_classes=len(task.classes) if task.classes is not None else 0,
    )


def run_job(job: Job) -> dict[str, Any]:
    """Tune, refit and score one job; always returns a record.

    ``state``: ``ok``; ``timeout`` when every tuning trial or the final refit overran
    ``job.timeout``; otherwise ``failed``.  A non-ok record has ``error``, ``traceback`` and
    ``error_kind`` (``model`` for an exception from the fit, ``timeout``).
    """
    return computed_record(job, _fit_and_score)


def oof_payload(oof: dict[int, Any]) -> dict[str, Any] | None:
    """A job's out-of-fold predictions as ``{"numbers": (t,), "preds": (t, n_train[, k])}``.

    Not part of the stored record: the driver pops ``_oof`` from a record and saves it under
    ``RUN_DIR/oof/`` (see :mod:`benchmark.run.ensembles`).  None when no trial completed every split.
    """
    from benchmark.run.bagged import predictions_payload

    return predictions_payload(oof)


def _fit_and_score(job: Job) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    task = get_task(job.task)
    schema = schema_of(task)
    if job.candidate.estimator is not None:  # a user estimator sent by value: a load failure is infrastructure
        from benchmark.candidates.custom import load_estimator

        load_estimator(job.candidate.estimator)
    else:  # a name the driver knows but this worker does not: infrastructure, before any trial
        from benchmark.candidates import get_spec

        get_spec(job.candidate.base)
    if job.final == "bag":
        from benchmark.run.bagged import bag_and_score

        with threadpool_limits(limits=job.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, result, test_scores, train_scores, gpu = bag_and_score(job, task, schema)
        return _with_curves(job, task, schema, result, out, test_scores, train_scores, gpu)
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
            sampler=job.sampler, seed=job.seed, n_threads=job.n_threads, keep_oof=job.keep_oof, timeout=job.timeout,
        )
        out["tune_seconds"] = time.perf_counter() - t
        out["trials"] = [r.to_dict() for r in result.trials]
        out["n_trials"] = len(result.trials)
        out["n_failed_trials"] = sum(r.state != "ok" for r in result.trials)
        out["best_params"] = result.best_params
        out["best_inner_score"] = result.best_value
        out["best_trial"] = result.best_number
        out["n_fits"] = n_fits(out["trials"]) + 1
        refit = _refit_params(job, result.best_params, _best_rounds(result), len(train))
        est = build_estimator(job.candidate, schema, refit, seed=job.seed, n_threads=job.n_threads)
        t = time.perf_counter()
        with fit_limit(job.timeout):
            est.fit(Xtr, ytr)
        out["fit_seconds"] = time.perf_counter() - t
        if (rounds := boosting_rounds(est)) is not None:
            out["rounds"] = rounds  # boosting rounds of the final refit (each trial's fits' are in ``trials``)
        out["n_base_fits"] = sum(int(tr.get("base_fits") or 0) for tr in out["trials"]) + count_base_fits(est)
        if job.keep_oof:
            out["_oof"] = oof_payload(result.oof)
        t = time.perf_counter()
        test_out = predict_output(est, X.iloc[test], schema)
        out["predict_seconds"] = time.perf_counter() - t
        out["model_bytes"] = model_bytes(est)
        train_out = predict_output(est, Xtr, schema)
        history = epoch_history(est)
        if history:
            out["epoch_history"] = history
        gpu = sum(float(tr.get("gpu_seconds") or 0.0) for tr in out["trials"]) + gpu_seconds(est)
        device = fit_device(est)
        if device:
            out["device"] = device
    test_scores = score_all(schema.kind, y[test], test_out, schema.n_classes)
    train_scores = score_all(schema.kind, ytr, train_out, schema.n_classes)
    return _with_curves(job, task, schema, result, out, test_scores, train_scores, gpu)


def _with_curves(job: Job, task, schema: Schema, result, out: dict[str, Any], test_scores, train_scores, gpu: float) -> dict[str, Any]:
    """Add the scores, the curve fields and the GPU seconds to a job's fields."""
    from threadpoolctl import threadpool_limits

    out.update({f"test_{k}": v for k, v in test_scores.items()})
    out.update({f"train_{k}": v for k, v in train_scores.items()})
    if job.learning_curve or job.budget_curve:
        with threadpool_limits(limits=job.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curves = _curves(job, task, schema, result, test_scores, train_scores)
        gpu += curves.pop("gpu_seconds")
        out.update(curves)
    if gpu > 0:
        out["gpu_seconds"] = gpu
    return out


def model_bytes(est: Any) -> int | None:
    """Size of the refitted model pickled (None when it does not pickle)."""
    import pickle

    try:
        return len(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return None


def _curves(job: Job, task, schema: Schema, result, test_scores, train_scores) -> dict[str, Any]:
    """The curve fields of a job's record: ``learning_curve``, ``budget_curve``, ``curve_fits``,
    ``curve_seconds``, ``curve_cpu_seconds`` (and ``gpu_seconds``, which the caller adds up)."""
    t, c = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"curve_fits": 0, "gpu_seconds": 0.0}
    if job.learning_curve:
        out["learning_curve"] = _learning_curve(job, task, schema, result.best_params, test_scores, train_scores, rounds=_best_rounds(result))
        out["curve_fits"] += sum(1 for p in out["learning_curve"] if not p.get("skipped") and p["fraction"] < 1)
        out["gpu_seconds"] += sum(p.pop("gpu_seconds", 0.0) for p in out["learning_curve"])
    if job.budget_curve and job.final != "bag":  # a bag job's curve comes from its trials' test predictions (run.bagged)
        out["budget_curve"], refits, gpu = _budget_curve(job, task, schema, result, test_scores)
        out["curve_fits"] += refits
        out["gpu_seconds"] += gpu
    out["curve_seconds"] = time.perf_counter() - t
    out["curve_cpu_seconds"] = time.process_time() - c
    return out


def _best_rounds(result) -> list[int]:
    """The boosting rounds the best trial's fits kept (empty for a model that is no early-stopped booster)."""
    return next((list(t.rounds) for t in result.trials if t.number == result.best_number), [])


def _refit_params(job: Job, params: dict[str, Any], rounds: list[int] | None, n_rows: int) -> dict[str, Any]:
    """``params`` for a refit on ``n_rows`` rows; for an early-stopped booster plus ``rounds``: the
    rounds its trial's fits kept, scaled to ``n_rows`` (:func:`~benchmark.candidates.early_stopping.refit_rounds`)."""
    scaled = refit_rounds(rounds or [], [len(fit) for fit, _ in job.fold.inner], n_rows)
    return dict(params) if scaled is None else {**params, "rounds": scaled}


def _score_fit(job: Job, task, schema: Schema, params: dict[str, Any], rows, *, train_scores: bool = True, rounds: list[int] | None = None) -> tuple[dict[str, float], dict[str, float], float]:
    """Fit ``params`` (with ``rounds``: the trial's boosting rounds, scaled) on the outer-training positions ``rows``.

    Returns the scores on the outer test fold, on ``rows`` (empty unless ``train_scores``) and
    the fit's GPU seconds.
    """
    X, y = task.X, task.y
    train = job.fold.train[rows]
    est = build_estimator(job.candidate, schema, _refit_params(job, params, rounds, len(train)), seed=job.seed, n_threads=job.n_threads)
    with fit_limit(job.timeout):
        est.fit(X.iloc[train], y[train])
    test = score_all(schema.kind, y[job.fold.test], predict_output(est, X.iloc[job.fold.test], schema), schema.n_classes)
    on_train = score_all(schema.kind, y[train], predict_output(est, X.iloc[train], schema), schema.n_classes) if train_scores else {}
    return test, on_train, gpu_seconds(est)


def _learning_curve(job: Job, task, schema: Schema, params, test_scores, train_scores, *, rounds: list[int] | None = None) -> list[dict[str, Any]]:
    """One point per fraction: the tuned configuration refitted on a nested subsample of the training rows."""
    from benchmark.run.curves import TooSmall, learning_subsample, subsample_seed

    ytr = task.y[job.fold.train]
    seed = subsample_seed(fold_hash(job.fold))
    points: list[dict[str, Any]] = []
    for f in job.learning_curve:
        if f >= 1.0:
            points.append({"fraction": 1.0, "n_train": int(len(ytr)), "test": dict(test_scores), "train": dict(train_scores)})
            continue
        try:
            rows = learning_subsample(ytr, f, seed=seed, classification=schema.is_classification)
        except TooSmall as exc:
            points.append({"fraction": f, "n_train": int(math.floor(f * len(ytr) + 0.5)), "skipped": str(exc)})
            continue
        point: dict[str, Any] = {"fraction": f, "n_train": int(len(rows))}
        t = time.perf_counter()
        try:
            point["test"], point["train"], gpu = _score_fit(job, task, schema, params, rows, rounds=rounds)
            if gpu:
                point["gpu_seconds"] = gpu
        except Exception as exc:  # a curve point that cannot be fitted is data, not a failed job
            point["error"] = error_line(exc, 300)
            if isinstance(exc, FitTimeout):
                point["timeout"] = True
        point["seconds"] = time.perf_counter() - t
        points.append(point)
    return points


def _budget_curve(job: Job, task, schema: Schema, result, test_scores) -> tuple[list[dict[str, Any]], int, float]:
    """Outer-test scores of the configuration chosen after 1, 2, 5, 10, … trials; the refits it took and their GPU seconds."""
    import numpy as np

    from benchmark.metrics import get_metric
    from benchmark.run.curves import best_so_far_numbers, budget_checkpoints

    trials = [t.to_dict() for t in result.trials]
    chosen = best_so_far_numbers(trials, get_metric(job.metric).greater_is_better)
    by_number = {t["number"]: t for t in trials}
    cache: dict[int, dict[str, Any]] = {result.best_number: {"test": dict(test_scores)}}
    refits, gpu = 0, 0.0
    points = []
    all_rows = np.arange(len(job.fold.train))
    for b in budget_checkpoints(len(trials)):
        num = chosen[b - 1]
        if num is None:
            continue
        if num not in cache:
            try:
                scores, _, fit_gpu = _score_fit(job, task, schema, by_number[num]["params"], all_rows, train_scores=False, rounds=by_number[num].get("rounds"))
                cache[num] = {"test": scores}
                gpu += fit_gpu
            except Exception as exc:
                cache[num] = {"error": error_line(exc, 300)}
                if isinstance(exc, FitTimeout):
                    cache[num]["timeout"] = True
            refits += 1
        points.append({"trials": b, "trial_number": num, **cache[num]})
    return points, refits, gpu

