"""Job records: the one place a record's envelope and its outcome fields are built.

Every job — a tuned candidate (:func:`benchmark.run.worker.run_job`), a post-hoc ensemble
(:func:`benchmark.run.ensembles.run_selection_job`), or a job whose worker never sent a record
back (the process pool in :mod:`benchmark.run.executors.local`, the Dask executor in
:mod:`benchmark.run.executors.dask_cluster`) — ends up as one flat record:

* the **envelope** (:func:`record_header`): ``type``, ``key``, task, candidate, fold, seeds,
  data/split/fold hashes, sizes, ``pid``, ``host``, ``started``;
* the **outcome**: ``state`` (``ok``, ``failed``, ``timeout``) and, when it is not ok,
  ``error``, ``error_kind`` and (when there is one) ``traceback``;
* the job's own fields (scores, trials, timings).

:func:`computed_record` wraps a worker-side computation (an exception becomes a failed or
timed-out record: failure is data); :func:`lost_record` is the record of a job whose worker
died, hung or broke.  The "timeout or failed" verdict on an exception is :func:`timed_out`.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from benchmark.run.limits import FitTimeout

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.splits import Fold

#: Longest ``error`` line a computed record keeps.
ERROR_CHARS = 500
#: Innermost frames a record's ``traceback`` keeps.
TRACEBACK_FRAMES = 8


def fold_hash(fold: Fold) -> str:
    """Hash of one outer fold's train/test/inner indices (equal for every candidate on that fold)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for arr in (fold.train, fold.test, *[a for pair in fold.inner for a in pair]):
        h.update(np.asarray(arr, dtype=np.int64).tobytes() + b"|")
    return h.hexdigest()[:16]


def record_header(job: Any) -> dict[str, Any]:
    """The identity fields every job record starts with (``job``: a Job or a SelectionJob)."""
    return {
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
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def error_line(exc: BaseException, limit: int = ERROR_CHARS) -> str:
    """``"ValueError: message"``: the first line, at most ``limit`` characters."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:limit]


def timed_out(exc: BaseException) -> bool:
    """The verdict on a job that raised: a timeout when a fit overran its limit (``FitTimeout``)
    or when every tuning trial did (``TuningFailed`` with only ``timeout`` trials); else a failure."""
    from benchmark.run.tuning import TuningFailed

    if isinstance(exc, FitTimeout):
        return True
    return isinstance(exc, TuningFailed) and all(t.state == "timeout" for t in exc.trials)


def failure_fields(exc: BaseException) -> dict[str, Any]:
    """The outcome fields of a computation that raised ``exc``; call it inside the ``except`` block.

    ``state`` and ``error_kind`` (``timeout``; ``infrastructure`` when a user estimator sent by
    value could not be loaded in the worker, or the worker does not know the candidate; else
    ``model`` for an exception from the fit),
    ``error``, ``traceback``; for ``TuningFailed`` also the failed ``trials`` and their counts.
    """
    from benchmark.candidates.custom import EstimatorTransportError
    from benchmark.errors import InputError
    from benchmark.run.tuning import TuningFailed

    late = timed_out(exc)
    transport = isinstance(exc, EstimatorTransportError) or (
        isinstance(exc, TuningFailed) and any(t.error and t.error.startswith("EstimatorTransportError") for t in exc.trials)
    ) or (isinstance(exc, InputError) and "unknown candidate" in str(exc))  # the worker lacks what the driver has
    out: dict[str, Any] = {
        "state": "timeout" if late else "failed",
        "error_kind": "timeout" if late else "infrastructure" if transport else "model",
        "error": error_line(exc),
        "traceback": traceback.format_exc(limit=-TRACEBACK_FRAMES),
    }
    if isinstance(exc, TuningFailed):
        out["trials"] = [r.to_dict() for r in exc.trials]
        out["n_trials"] = len(exc.trials)
        out["n_failed_trials"] = len(exc.trials)
    return out


def computed_record(job: Any, compute: Callable[[Any], Mapping[str, Any]], *, preset: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``compute(job)`` and return the job's record; never raises for an ``Exception``.

    The record is the envelope, then ``preset`` (fields every outcome carries), then what
    ``compute`` returned and ``state="ok"`` — or, when it raised, :func:`failure_fields` —
    and last ``total_seconds`` / ``cpu_seconds`` of the whole call.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    rec = record_header(job)
    rec.update(preset or {})
    try:
        rec.update(compute(job))
        rec["state"] = "ok"
    except Exception as exc:  # failure is data
        rec.update(failure_fields(exc))
    rec["total_seconds"] = time.perf_counter() - t0
    rec["cpu_seconds"] = time.process_time() - c0
    return rec


def lost_record(job: Any, *, state: str, kind: str, error: str, pid: int | None, trace: str = "", started: float | None = None) -> dict[str, Any]:
    """The record of a job whose worker could not return one (it died, hung or broke).

    ``kind`` becomes ``error_kind`` (``crash``, ``timeout``, ``infrastructure``); ``pid`` the
    worker's (None when unknown); ``trace`` the worker-side traceback, when there is one;
    ``started``: ``time.monotonic()`` when the job was handed to the worker (gives ``total_seconds``).
    """
    rec = record_header(job)
    rec.update(pid=pid, state=state, error=error, error_kind=kind)
    if trace:
        rec["traceback"] = trace
    if started is not None:
        rec["total_seconds"] = time.monotonic() - started
    return rec
