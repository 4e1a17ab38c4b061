"""Where jobs run. The driver is the only writer of records; executors only compute.

- ``InlineExecutor``: in this process, one job at a time (the library ``compare()`` default and
  for debugging).  A fit that crashes the process takes the driver with it, and only the soft
  time limit (:func:`benchmark.run.limits.fit_limit`) applies.
- ``ProcessExecutor``: our own pool of spawned worker processes, each model limited to one
  thread so the machine is not oversubscribed; in-memory tasks are handed to each worker once,
  at start-up, not once per job.  It isolates fits: a worker that dies (segfault, ``os._exit``,
  SIGKILL, out of memory) or overruns the hard time limit costs only its own job, which is
  recorded (``state``, ``error``, ``error_kind``) and, for crashes, retried if the suite asks
  (``retries:``); a fresh worker takes its place.  ``bench run`` always uses it (one worker for
  ``--jobs 1``), as does any run whose suite sets ``timeout`` or ``retries``.

**Warm workers.** Starting a worker costs about 1.5 s (it imports scikit-learn and scipy), the
same for one worker or two since they start side by side; on a short run that fixed cost is most
of what keeps 2 workers from halving the time. A pool made by the driver
(:func:`benchmark.run.executors.make_executor`, ``warm=True``) therefore leaves its idle workers
*parked* when a run ends normally, and the next run in the same process (a second ``compare()``
in a notebook, the selection phase, a test session) adopts them instead of spawning. A parked
worker is adopted only if the environment, the current folder, ``sys.path`` and what is
installed on it (the folders' modification times) are as when it started, and no Python file it
imported from outside the installation (the user's modules, an editable toolkit) changed since
it started; it is then handed the new run's in-memory tasks (its task cache emptied
first). Otherwise it exits and a fresh one starts. Parked workers exit after
:data:`IDLE_SECONDS` unused, at interpreter exit, and, like all workers, when the driver dies. A
cancelled run (Ctrl-C, an error) parks nothing.

``error_kind`` of a non-ok record: ``model`` (the fit raised a Python exception: recorded by the
worker, never retried), ``timeout`` (a fit overran ``timeout``), ``crash`` (the worker process
died), ``infrastructure`` (the worker could not run the job or send its record back).

Results are identical whichever executor runs a job: the record is built by the same pure
worker function from the same seeds.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from benchmark.run.executors.spawning import START_TIMEOUT, hidden_main
from benchmark.run.executors.threads import MODEL_THREADS, THREAD_VARS
from benchmark.run.limits import CLOCK_SLOTS, attach_clock, read_clock
from benchmark.run.records import TRACEBACK_FRAMES, error_line, lost_record
from benchmark.run.worker import Job, forget_tasks, preload_tasks, run_job

#: Seconds between the driver's checks of the workers' fit clocks (and the workers' checks of their parent).
_POLL_SECONDS = 0.5
#: Workers that die before saying "ready", in a row, before the pool gives up.
_MAX_START_FAILURES = 3
#: Seconds a parked worker (see "Warm workers" above) waits for the next run before it exits.
IDLE_SECONDS = 120.0
#: Seconds a parked worker may take to take in a new run's tasks before it is replaced.
_ADOPT_TIMEOUT = 30.0

log = logging.getLogger(__name__)


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
    """Our own pool of ``workers`` spawned processes; records are yielded as jobs complete.

    Each worker has its own pipe and a shared clock (:func:`benchmark.run.limits.attach_clock`).
    The driver waits on the pipes and on the process sentinels together
    (``multiprocessing.connection.wait``), so it notices at once when a worker dies:

    * **crash** (segfault, ``os._exit``, SIGKILL, the OOM killer): the job gets a record
      ``state="failed"``, ``error="worker process died: signal SIGSEGV (exit code -11)"``,
      ``error_kind="crash"``; a replacement worker starts and the other jobs go on.
    * **hard time limit**: a worker whose current fit (published by ``fit_limit``) has run
      longer than its limit + ``grace`` seconds is killed; the job gets ``state="timeout"``,
      ``error_kind="timeout"`` and ``timeout_trial`` (the tuning trial, when one was running).
    * **infrastructure** (the result could not be sent back, the worker function itself
      raised): ``state="failed"``, ``error_kind="infrastructure"``.

    Crash and infrastructure losses are re-submitted up to ``retries`` times (the record then
    carries ``attempts``); timeouts and model errors (records built by the worker) are not.
    Workers exit by themselves when the driver dies (each polls its parent's pid), so a
    ``kill -9`` of the driver leaves no orphan computing.
    """

    def __init__(self, workers: int, tasks: dict[str, Any] | None = None, *, retries: int = 0, grace: float | None = None,
                 start_timeout: float = START_TIMEOUT, warm: bool = False) -> None:
        self.workers = workers
        self.start_timeout = start_timeout
        self.retries = retries
        self.grace = grace
        self.warm = warm
        self.adopted = 0  # workers taken from the parked ones (see "Warm workers")
        self._ctx = mp.get_context("spawn")
        self._tasks = tasks or {}
        self._pool: list[_Worker] = []
        self._seq = 0
        self._start_failures = 0
        try:
            for _ in range(workers):
                w = _adopt(self._tasks) if warm else None
                self.adopted += w is not None
                self._pool.append(w or self._spawn())
        except BaseException:  # do not leave the workers started so far behind
            _stop(self._pool, cancel=True)
            self._pool = []
            raise

    # -- workers ------------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        clock = self._ctx.RawArray("d", CLOCK_SLOTS)
        proc = self._ctx.Process(
            target=_worker_main, args=(child, clock, MODEL_THREADS, self._tasks, os.getpid()), daemon=True, name="bench-worker"
        )
        with hidden_main():  # the child must not re-run the user's script (see executors/spawning.py)
            proc.start()
        child.close()
        return _Worker(proc, parent, clock)

    def _replace(self, w: _Worker) -> None:
        """Reap ``w`` (killing it if still alive) and put a fresh worker in its place."""
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join(5)
        w.conn.close()
        if not w.ready:
            self._start_failures += 1
            if self._start_failures >= _MAX_START_FAILURES:
                raise RuntimeError(f"worker processes die before they start ({_death(w.proc.exitcode)}); run with --jobs 1 to see why")
        self._pool[self._pool.index(w)] = self._spawn()

    # -- jobs ---------------------------------------------------------------------------------
    def run(self, jobs: Iterable[Any], fn: Callable[[Any], dict[str, Any]] = run_job) -> Iterator[dict[str, Any]]:
        queue: deque[tuple[Any, int]] = deque((job, 1) for job in jobs)
        inflight: dict[int, tuple[Any, int]] = {}
        while queue or inflight:
            for w in self._pool:
                if queue and w.ready and w.seq is None:
                    job, attempt = queue.popleft()
                    self._seq += 1
                    w.assign(self._seq, fn, job)
                    inflight[self._seq] = (job, attempt)
            busy = [w for w in self._pool if w.seq is not None]
            starting = [w for w in self._pool if not w.ready]
            self._check_start(starting)
            timeout = _POLL_SECONDS if busy or starting else None
            ready = set(wait([w.conn for w in self._pool] + [w.proc.sentinel for w in self._pool], timeout=timeout))
            for w in list(self._pool):
                if w.conn in ready:
                    msg = w.receive()
                    if msg is not None:
                        rec = self._on_message(w, msg, inflight, queue)
                        if rec is not None:
                            yield rec
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    rec = self._on_death(w, inflight, queue)
                    if rec is not None:
                        yield rec
                elif w.seq is not None and self._overdue(w):
                    rec = self._on_overdue(w, inflight)
                    if rec is not None:
                        yield rec

    def _check_start(self, starting: list[_Worker]) -> None:
        """Stop the run when a worker has not said "ready" within ``start_timeout`` seconds."""
        now = time.monotonic()
        late = [w for w in starting if now - w.spawned > self.start_timeout]
        if late:
            raise RuntimeError(f"a worker process did not start within {self.start_timeout:g} s (pid {late[0].proc.pid}); "
                               "check that the machine is not out of memory, or run with jobs=1 to see why")

    def _on_message(self, w: _Worker, msg: tuple, inflight: dict[int, tuple[Any, int]], queue: deque) -> dict[str, Any] | None:
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            self._start_failures = 0
            return None
        seq = msg[1]
        began = w.started
        w.seq, w.started = None, None
        if seq not in inflight:  # a result from an abandoned earlier run()
            return None
        job, attempt = inflight.pop(seq)
        if kind == "done":
            rec = msg[2]
            if attempt > 1:
                rec["attempts"] = attempt
            return rec
        return self._lost(job, attempt, queue, error=f"worker could not run the job: {msg[2]}", kind="infrastructure", pid=w.proc.pid, trace=msg[3], started=began)

    def _on_death(self, w: _Worker, inflight: dict[int, tuple[Any, int]], queue: deque) -> dict[str, Any] | None:
        w.proc.join(5)
        seq, pid, code, began = w.seq, w.proc.pid, w.proc.exitcode, w.started
        self._replace(w)
        if seq is None or seq not in inflight:
            return None
        job, attempt = inflight.pop(seq)
        log.warning("worker %s died (%s) running %s", pid, _death(code), job.key.replace("\x1f", " / "))
        return self._lost(job, attempt, queue, error=f"worker process died: {_death(code)}", kind="crash", pid=pid, exit_code=code, started=began)

    def _overdue(self, w: _Worker) -> bool:
        start, limit, _ = read_clock(w.clock)
        if start is None or limit <= 0:
            return False
        return time.monotonic() - start > limit + self._grace(limit)

    def _grace(self, limit: float) -> float:
        return self.grace if self.grace is not None else min(60.0, 2.0 + 0.25 * limit)

    def _on_overdue(self, w: _Worker, inflight: dict[int, tuple[Any, int]]) -> dict[str, Any] | None:
        if w.conn.poll():  # it finished just now: take its result instead
            return None
        start, limit, trial = read_clock(w.clock)
        seq, pid, began = w.seq, w.proc.pid, w.started
        ran = time.monotonic() - (start or time.monotonic())
        self._replace(w)
        if seq not in inflight:
            return None
        job, attempt = inflight.pop(seq)
        where = f" in trial {trial}" if trial is not None else ""
        log.warning("killed worker %s: a fit of %s ran %.1f s%s (limit %g s)", pid, job.key.replace("\x1f", " / "), ran, where, limit)
        rec = lost_record(job, state="timeout", kind="timeout", pid=pid, started=began,
                          error=f"FitTimeout: a fit overran the time limit of {limit:g} s and did not stop; worker process killed")
        if trial is not None:
            rec["timeout_trial"] = trial
        if attempt > 1:
            rec["attempts"] = attempt
        return rec

    def _lost(self, job: Any, attempt: int, queue: deque, *, error: str, kind: str, pid: int | None,
              exit_code: int | None = None, trace: str = "", started: float | None = None) -> dict[str, Any] | None:
        """Re-queue a job lost to a crash or the infrastructure, or build its failed record."""
        if attempt <= self.retries:
            log.warning("%s: %s; retrying (attempt %d of %d)", job.key.replace("\x1f", " / "), error, attempt + 1, self.retries + 1)
            queue.appendleft((job, attempt + 1))
            return None
        rec = lost_record(job, state="failed", kind=kind, pid=pid, error=error, trace=trace, started=started)
        if exit_code is not None:
            rec["exit_code"] = exit_code
        if attempt > 1:
            rec["attempts"] = attempt
        return rec

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers: park idle ones for the next run when ``warm``, else ask them to
        exit (``cancel``: kill them all at once, park none)."""
        keep = [w for w in self._pool if w.ready and w.seq is None and w.proc.is_alive()] if self.warm and not cancel else []
        _stop([w for w in self._pool if w not in keep], cancel=cancel)
        _park(keep)
        self._pool = []


def _stop(workers: list[_Worker], *, cancel: bool = False) -> None:
    """End these workers: ask idle ones to exit, kill busy ones (``cancel``: all), reap them all."""
    for w in workers:
        if cancel or w.seq is not None:
            w.proc.kill()
        else:
            try:
                w.conn.send(None)
            except OSError:
                pass
    for w in workers:
        w.proc.join(5)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(5)
        w.conn.close()


# -- parked workers (see "Warm workers" in the module docstring) -------------------------------
_PARKED: list[_Worker] = []
_PARK_LOCK = threading.Lock()
_TIMER: list[threading.Timer] = []


def _environment() -> tuple:
    """What a worker read when it started and would read differently now: the environment, the
    current folder, the import path, and what is installed on it (each folder's modification
    time changes when a package is installed, upgraded or removed there)."""
    installed = []
    for entry in sys.path:
        try:
            installed.append(os.stat(entry or ".").st_mtime_ns)
        except OSError:
            installed.append(None)
    return tuple(sorted(os.environ.items())), os.getcwd(), tuple(sys.path), tuple(installed)


def _park(workers: list[_Worker]) -> None:
    if not workers:
        return
    with _PARK_LOCK:
        _PARKED.extend(workers)
        for t in _TIMER:
            t.cancel()
        _TIMER.clear()
        timer = threading.Timer(IDLE_SECONDS, close_parked)
        timer.daemon = True
        timer.start()
        _TIMER.append(timer)


def close_parked() -> int:
    """End every parked worker now; return how many there were."""
    with _PARK_LOCK:
        workers = list(_PARKED)
        _PARKED.clear()
    _stop(workers)
    return len(workers)


def parked_count() -> int:
    with _PARK_LOCK:
        return len(_PARKED)


atexit.register(close_parked)


def _adopt(tasks: dict[str, Any]) -> _Worker | None:
    """A parked worker, handed ``tasks``, when one is alive, of this environment and up to date
    (see "Warm workers"); else None (stale ones are ended)."""
    env = _environment()
    while True:
        with _PARK_LOCK:
            if not _PARKED:
                return None
            w = _PARKED.pop()
        try:
            ok = w.env == env and w.proc.is_alive() and _hand_tasks(w, tasks)
        except BaseException:  # Ctrl-C while it takes the tasks: end it, do not leak it
            _stop([w], cancel=True)
            raise
        if ok:
            w.spawned = time.monotonic()
            w.clock[0], w.clock[1], w.clock[2] = 0.0, 0.0, -1.0  # no fit running: nothing left from its last run
            return w
        _stop([w])


def _hand_tasks(w: _Worker, tasks: dict[str, Any]) -> bool:
    """Give an idle worker a new run's tasks; False if it is out of date or does not answer."""
    try:
        w.conn.send((0, _take_tasks, tasks))
        if w.conn.poll(_ADOPT_TIMEOUT):
            msg = w.conn.recv()
            return msg[0] == "done" and msg[2] is True
    except Exception:  # a broken pipe, a task that does not pickle, an odd reply
        pass
    return False


def _take_tasks(tasks: dict[str, Any]) -> bool:
    """(In a parked worker) drop the cached tasks and take ``tasks``, unless a Python file this
    process imported from outside the installation changed since it started: False then."""
    if _changed_sources():
        return False
    forget_tasks(None)
    preload_tasks(tasks)
    return True


def _changed_sources() -> bool:
    """Whether any module file this process imported from outside the Python installation (the
    user's code, an editable install) was modified since the process started."""
    import psutil

    started = psutil.Process().create_time() - 2.0  # its clock counts from whole seconds of boot time: err early
    roots = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        real = os.path.realpath(path)
        if real.startswith(roots):
            continue
        try:
            if os.stat(real).st_mtime > started:
                return True
        except OSError:
            return True
    return False


class _Worker:
    """The driver's handle on one worker process: pipe, shared clock, current job."""

    def __init__(self, proc: Any, conn: Connection, clock: Any) -> None:
        self.proc, self.conn, self.clock = proc, conn, clock
        self.env = _environment()
        self.ready = False
        self.spawned = time.monotonic()
        self.seq: int | None = None
        self.started: float | None = None

    def assign(self, seq: int, fn: Callable[[Any], dict[str, Any]], job: Any) -> None:
        self.seq, self.started = seq, time.monotonic()
        self.conn.send((seq, fn, job))

    def receive(self) -> tuple | None:
        """The next message, or None when the pipe broke (the sentinel then tells the death)."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None


def _death(exitcode: int | None) -> str:
    """``signal SIGSEGV (exit code -11)`` or ``exit code 3``."""
    if exitcode is None:
        return "exit code unknown"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = "; killed from outside, e.g. by the out-of-memory killer" if exitcode == -signal.SIGKILL else ""
        return f"signal {name} (exit code {exitcode}{hint})"
    return f"exit code {exitcode}"


def _worker_main(conn: Connection, clock: Any, n_threads: int, tasks: dict[str, Any], parent_pid: int) -> None:
    """A worker's life: set up, say ready, then run ``(seq, fn, job)`` messages until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    for var in THREAD_VARS:
        os.environ[var] = str(n_threads)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="bench-parent-watch").start()
    attach_clock(clock)
    preload_tasks(tasks)
    if not _send(conn, ("ready",)):
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        seq, fn, job = msg
        try:
            reply: tuple = ("done", seq, fn(job))
        except BaseException as exc:  # the worker function itself broke (records model errors itself)
            reply = ("error", seq, error_line(exc, 300), traceback.format_exc(limit=-TRACEBACK_FRAMES))
        try:
            if not _send(conn, reply):
                return
        except Exception as exc:  # e.g. the record does not pickle
            if not _send(conn, ("error", seq, f"result not sent back: {type(exc).__name__}: {exc}"[:300], traceback.format_exc(limit=-4))):
                return


def _send(conn: Connection, msg: tuple) -> bool:
    """Send ``msg`` to the driver; False (quietly) when the driver is gone (killed: a broken
    pipe), so an orphaned worker ends without printing tracebacks nobody asked for."""
    try:
        conn.send(msg)
    except (BrokenPipeError, ConnectionError, EOFError):
        return False
    return True


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker when the driver is gone (re-parented), instead of computing for nobody."""
    while True:
        time.sleep(_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(3)

