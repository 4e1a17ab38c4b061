"""Run jobs on a Dask cluster: ``--executor dask-local`` or ``--executor tcp://HOST:PORT``.

The driver submits one ``run_job`` call per job, never more at once than the cluster has
worker threads, and yields each record as it completes; the caller (the runner) stays the only
writer of ``records.jsonl``. A job computes the same thing wherever it runs (its seed, folds and
budget travel with it), so results are identical to the local executors.

How data reaches the workers:

- tasks loaded from a source (registry dataset, file, OpenML) are loaded by each worker process
  on first use and cached there (:func:`benchmark.run.worker.get_task`); file paths are made
  absolute before submission, so remote workers only need the same path on a shared filesystem;
- in-memory tasks (the library call) travel once per worker process inside a worker plugin,
  which Dask also hands to workers that join (or restart) later; jobs carry only a reference.

A job whose worker process dies (a crash in native code, ``os._exit``, the memory limit)
becomes a failed record with ``error_kind: "crash"``; other Dask-side failures of a job become
``error_kind: "infrastructure"``. The run goes on. Losing the scheduler stops the run with one
line (completed jobs are saved; ``--resume`` continues).

This module imports ``distributed`` only when an executor is built, so ``bench --help`` stays light.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from benchmark.errors import BenchmarkError, InputError
from benchmark.run.executors.spawning import hidden_main
from benchmark.run.executors.threads import MODEL_THREADS, THREAD_VARS

log = logging.getLogger(__name__)

#: Libraries that must have the same version on the driver and on every worker (besides provenance.KEY_LIBRARIES).
_CLUSTER_LIBRARIES = ("dask", "distributed", "cloudpickle")


class ExecutorLost(BenchmarkError):
    """The cluster went away during a run; completed jobs are saved and ``--resume`` continues."""

    exit_code = 1


def scheduler_address(executor: str) -> str:
    """The address Dask connects to: ``dask://`` becomes ``tcp://``."""
    return "tcp://" + executor[len("dask://"):] if executor.startswith("dask://") else executor


# --------------------------------------------------------------------------------------------
# Worker side (runs inside Dask worker processes)

#: Per worker process: the driver's versions already checked → the problem found (None: all equal).
_VERSION_CHECKS: dict[tuple[tuple[str, str], ...], str | None] = {}


def library_versions() -> dict[str, str]:
    """Versions that must agree between driver and workers (read from package metadata, no imports)."""
    from benchmark import provenance

    return provenance.versions(_CLUSTER_LIBRARIES)


def version_differences(driver: dict[str, str], worker: dict[str, str]) -> list[str]:
    """``"scikit-learn 1.8.0 (driver 1.9.1)"`` for each library whose version differs."""
    return [f"{lib} {worker.get(lib, 'not installed')} (driver {want})" for lib, want in sorted(driver.items()) if worker.get(lib, "not installed") != want]


def _version_problem(expected: dict[str, str]) -> str | None:
    key = tuple(sorted(expected.items()))
    if key not in _VERSION_CHECKS:
        diffs = version_differences(expected, library_versions())
        _VERSION_CHECKS[key] = "; ".join(diffs) or None
    return _VERSION_CHECKS[key]


def run_on_worker(fn: Callable[[Any], dict[str, Any]], job: Any, expected_versions: dict[str, str]) -> dict[str, Any]:
    """What each Dask task runs: check this worker's library versions once, then ``fn(job)``."""
    problem = _version_problem(expected_versions)
    if problem:
        from distributed import get_worker

        address = get_worker().address
        return failed_record(job, f"worker {address} has other library versions than the driver: {problem}; install the driver's versions on every worker", kind="infrastructure", worker=address)
    return fn(job)


def failed_record(job: Any, error: str, *, kind: str, worker: str | None = None) -> dict[str, Any]:
    """A failed job record for a job that never returned its own (its worker died, Dask failed).

    ``pid`` is unknown (None) and ``host`` is the worker's host when known.
    """
    from benchmark.run.records import lost_record

    rec = lost_record(job, state="failed", kind=kind, error=error[:500], pid=None)
    rec["host"] = re.sub(r"^\w+://|:\d+$", "", worker).strip("[]") if worker else None
    return rec


# --------------------------------------------------------------------------------------------
# Driver side


class DaskExecutor:
    """Jobs on a Dask cluster: a ``LocalCluster`` of ``workers`` processes, or an existing scheduler.

    ``executor`` is a value of :func:`benchmark.run.executors.parse_executor` other than ``local``. ``tasks`` are
    in-memory tasks (``{name: Task}``) handed to every worker process once. ``retries``: how
    often a LocalCluster re-runs a job whose worker died (Dask's ``allowed-failures``; an
    existing cluster keeps its scheduler's setting, 3 by default). ``connect_timeout`` (seconds)
    defaults to Dask's ``distributed.comm.timeouts.connect``.
    """

    def __init__(self, executor: str, *, workers: int = 1, tasks: dict[str, Any] | None = None, retries: int = 0,
                 connect_timeout: float | None = None) -> None:
        import dask
        from distributed import Client

        self.spec = executor
        self.local = executor == "dask-local"
        self.cluster = None
        self._closed = False
        self._futures: dict[Any, Any] = {}
        self._cache_keys: set[tuple[str, str]] = set()
        self._plugin_name: str | None = None
        self._versions = library_versions()
        quiet = logging.WARNING if log.isEnabledFor(logging.DEBUG) else logging.CRITICAL
        self._log_levels = _quiet_dask_logs(quiet)
        if self.local:
            from distributed import LocalCluster

            # A dead worker here is the job's own doing (crash, memory limit): record it, retry only if asked.
            try:
                with hidden_main(), dask.config.set({"distributed.scheduler.allowed-failures": retries, "distributed.admin.system-monitor.gil.enabled": False}):
                    self.cluster = LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", silence_logs=quiet, env=dict.fromkeys(THREAD_VARS, str(MODEL_THREADS)),
                    )
                self.client = Client(self.cluster, set_as_default=False)
            except BaseException:
                if self.cluster is not None:
                    self.cluster.close(timeout=10)
                _restore_logs(self._log_levels)
                raise
            log.info("Dask LocalCluster: %d worker processes at %s", workers, self.cluster.scheduler_address)
        else:
            timeout = connect_timeout if connect_timeout is not None else dask.config.get("distributed.comm.timeouts.connect")
            try:
                self.client = Client(scheduler_address(executor), timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                _restore_logs(self._log_levels)
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputError(
                    f"cannot connect to the Dask scheduler at {executor} ({reason[:200]}); start the cluster first and check HOST:PORT (see docs/cluster.md)",
                    where=f"--executor {executor}",
                ) from None
            try:
                self._check_workers()
            except BaseException:
                self.client.close()
                _restore_logs(self._log_levels)
                raise
        self.workers = self._capacity()
        try:
            if self.local or tasks:
                self._register_plugin(tasks or {})
        except BaseException:
            self.close(cancel=True)
            raise

    # -- set-up ----------------------------------------------------------------------------

    def _check_workers(self) -> None:
        """Refuse a cluster whose workers cannot import ``benchmark`` or run other library versions."""
        if not self.client.scheduler_info().get("workers"):
            log.warning("%s: no workers yet; jobs wait until workers join (their versions are checked as they run)", self.spec)
            return
        try:
            seen = self.client.run(library_versions)
        except Exception as exc:  # the function cannot even be unpickled there
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                f"the workers cannot run the benchmark package ({type(exc).__name__}: {msg[:200]}); install it and the driver's library versions on every worker",
                where=f"--executor {self.spec}",
            ) from None
        for address, versions in sorted(seen.items()):
            diffs = version_differences(self._versions, versions)
            if diffs:
                raise InputError(
                    f"worker {address} has other library versions than this machine: {'; '.join(diffs[:6])}; results would not be comparable — install the same versions on every worker",
                    where=f"--executor {self.spec}",
                )

    def _register_plugin(self, tasks: dict[str, Any]) -> None:
        from benchmark.run.executors.dask_plugins import SetupWorker

        self._plugin_name = f"benchmark-{uuid.uuid4().hex[:12]}"
        self._cache_keys.update((t.name, t.data_hash) for t in tasks.values())
        self.client.register_plugin(SetupWorker(tasks, ignore_sigint=self.local), name=self._plugin_name)

    def _capacity(self) -> int:
        """Worker threads in the cluster now (at least 1, so a run can start before workers join)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    # -- running ---------------------------------------------------------------------------

    def run(self, jobs: Iterable[Any], fn: Callable[[Any], dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
        """Submit the jobs, at most one per worker thread at a time; yield records as they complete.

        Keeping no more jobs in flight than threads means a worker never holds a queued job
        when it dies, so only the job it was running is blamed.
        """
        from distributed import as_completed

        from benchmark.run.worker import run_job

        fn = fn or run_job
        queue = iter(jobs)
        done = as_completed(loop=self.client.loop)
        exhausted = False

        def fill() -> None:
            nonlocal exhausted
            limit = self._capacity()
            while not exhausted and len(self._futures) < limit:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                    return
                job = _portable(job)
                if job.task.config is not None:
                    self._cache_keys.add((job.task.name, job.task.data_hash))
                fut = self.client.submit(run_on_worker, fn, job, self._versions, key=_task_key(job), pure=False, retries=0)
                self._futures[fut] = job
                done.add(fut)

        fill()
        for fut in done:
            job = self._futures.pop(fut)
            rec = self._record(fut, job)
            fut.release()
            yield rec
            fill()

    def _record(self, fut: Any, job: Any) -> dict[str, Any]:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            return fut.result()
        except KilledWorker as exc:
            worker = getattr(exc.last_worker, "address", exc.last_worker)
            tries = exc.allowed_failures + 1
            log.warning("%s %s fold %d: worker %s died while running it", job.task.name, job.candidate.name, job.fold.index, worker)
            return failed_record(
                job,
                f"worker {worker} died while running this job ({tries} attempt{'s' if tries > 1 else ''}): the process crashed "
                "(native code, os._exit) or was killed (memory limit, scheduler)",
                kind="crash",
                worker=str(worker),
            )
        except CancelledError:
            raise ExecutorLost(f"--executor {self.spec}: lost the Dask scheduler during the run; completed jobs are saved — continue with --resume") from None
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else ""
            if self.client.status not in ("running", "connecting"):
                raise ExecutorLost(f"--executor {self.spec}: lost the Dask scheduler during the run ({type(exc).__name__}); completed jobs are saved — continue with --resume") from None
            return failed_record(job, f"Dask could not run this job: {type(exc).__name__}: {msg}", kind="infrastructure")

    # -- shutting down ---------------------------------------------------------------------

    def close(self, *, cancel: bool = False) -> None:
        """Release the cluster. ``cancel``: drop jobs not yet finished (Ctrl-C).

        A LocalCluster is shut down (its worker processes end). On an existing cluster, queued
        jobs are cancelled, but a job already running finishes on its worker and is discarded;
        this run's plugin and cached tasks are removed from the workers.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._futures:
                if cancel:
                    self.client.cancel(list(self._futures), force=True)
                self._futures.clear()
            if not self.local and self.client.status == "running":
                if self._plugin_name:
                    self.client.unregister_worker_plugin(self._plugin_name)
                if self._cache_keys:
                    from benchmark.run.worker import forget_tasks

                    self.client.run(forget_tasks, sorted(self._cache_keys))  # a finished run's tasks leave the workers' caches
        except Exception as exc:  # closing must not hide what happened before
            log.debug("Dask clean-up: %s", exc)
        finally:
            try:
                self.client.close(timeout=10)
            finally:
                try:
                    if self.cluster is not None:
                        self.cluster.close(timeout=10)
                finally:
                    _restore_logs(self._log_levels)


def _quiet_dask_logs(level: int) -> dict[str, int]:
    """Raise Dask's loggers in this process to ``level`` (its start/stop chatter and the scheduler's
    "worker died" errors, which become records instead); return the old levels."""
    names = ["distributed"] + [n for n, lg in logging.root.manager.loggerDict.items()
                               if n.startswith("distributed.") and isinstance(lg, logging.Logger) and lg.level != logging.NOTSET]
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(max(level, old[n]))
    return old


def _restore_logs(old: dict[str, int]) -> None:
    for name, level in old.items():
        logging.getLogger(name).setLevel(level)


def _portable(job: Any) -> Any:
    """The job with its task's file path made absolute, so a worker with another cwd finds it."""
    cfg = job.task.config
    if cfg is None or cfg.path is None:
        return job
    from benchmark.data.resolve import resolve_path

    path = str(resolve_path(cfg.path, job.task.base_dir).resolve())
    if path == cfg.path:
        return job
    return replace(job, task=replace(job.task, config=replace(cfg, path=path)))


def _task_key(job: Any) -> str:
    """A readable, unique Dask key (identical jobs are never merged)."""
    name = re.sub(r"[^A-Za-z0-9_.]+", "_", f"{job.task.name}.{job.candidate.name}")
    return f"bench-{name}-fold{job.fold.index}-{uuid.uuid4().hex[:10]}"
