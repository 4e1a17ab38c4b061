"""Where jobs run. The driver is the only writer of records; executors only compute.

- ``InlineExecutor``: in this process, one job at a time (``--jobs 1``; easiest to debug).
- ``ProcessExecutor``: a pool of worker processes (``spawn``), each model limited to one
  thread so the machine is not oversubscribed. In-memory
  tasks are handed to each worker once, at start-up, not once per job.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from benchmark.fitting import Job, preload_tasks, run_job

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


#: Threads each model may use: one; parallelism comes from worker processes. Multi-threading a
#: single small fit costs more than it gains (OpenMP start-up and spinning; HistGB on iris: 0.2 s
#: with one thread, 5 s with two while the other core is busy).
MODEL_THREADS = 1


def _init_worker(n_threads: int, tasks: dict[str, Any]) -> None:
    for var in _THREAD_VARS:
        os.environ[var] = str(n_threads)
    preload_tasks(tasks)


class InlineExecutor:
    """Runs each job in the calling process, in order."""

    workers = 1

    def __init__(self, tasks: dict[str, Any] | None = None) -> None:
        preload_tasks(tasks or {})

    def run(self, jobs: Iterable[Job], fn: Callable[[Job], dict[str, Any]] = run_job) -> Iterator[dict[str, Any]]:
        for job in jobs:
            yield fn(job)

    def close(self, *, cancel: bool = False) -> None:
        pass


class ProcessExecutor:
    """A pool of ``workers`` spawned processes; results are yielded as they complete."""

    def __init__(self, workers: int, tasks: dict[str, Any] | None = None) -> None:
        self.workers = workers
        ctx = mp.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(MODEL_THREADS, tasks or {}),
        )

    def run(self, jobs: Iterable[Job], fn: Callable[[Job], dict[str, Any]] = run_job) -> Iterator[dict[str, Any]]:
        pending: set[Future] = set()
        queue = iter(jobs)
        limit = self.workers * 2  # keep workers busy without queueing every job's data at once
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                    break
                pending.add(self._pool.submit(fn, job))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


def make_executor(jobs: int, tasks: dict[str, Any] | None = None):
    """``jobs == 1`` runs inline; more runs a process pool of that size."""
    return InlineExecutor(tasks) if jobs <= 1 else ProcessExecutor(jobs, tasks)
