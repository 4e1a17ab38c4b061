"""Per-fit time limits: a soft limit inside the fitting thread, and a clock for the hard limit.

``with fit_limit(seconds): est.fit(X, y)`` bounds one fit.  Two layers stop a fit that runs too
long:

* **Soft limit (this module).** A watchdog timer raises :class:`FitTimeout` *asynchronously* in
  the thread that entered the block (``PyThreadState_SetAsyncExc``).  It works in the main
  thread and in any other thread (a Dask worker runs tasks in threads), needs no signals and
  does not touch ``SIGALRM``.  The exception is delivered the next time the fitting thread runs
  Python bytecode, so it stops Python-level loops (our torch training loops, scikit-learn's
  Python code, a sleep done in short steps) but *not* a fit stuck in one long C call that never
  returns to Python.

* **Hard limit (the executor).** A process worker attaches a small shared array with
  :func:`attach_clock`; ``fit_limit`` publishes in it when the current fit started, its limit
  and the trial number (see :func:`set_trial`).  The driver reads it and kills a worker whose
  fit has run past ``limit + grace`` (see :mod:`benchmark.run.executors.local`).  Only processes that
  run one fit at a time should attach a clock.

Race-free exit: the timer's decision and the block's exit are serialised by a lock.  Once the
timer has fired, ``__exit__`` cancels any exception still pending for the thread and raises a
fresh :class:`FitTimeout` itself — so the verdict "timed out" is final and no stray exception
can surface later in unrelated code.  When the block finishes before the timer fires, the
timer is cancelled under the same lock and can no longer fire.
"""

from __future__ import annotations

import ctypes
import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["FitTimeout", "fit_limit", "attach_clock", "set_trial", "read_clock", "CLOCK_SLOTS"]

#: Slots of the shared clock array: [fit start (``time.monotonic``, 0 = no fit), limit seconds, trial number (-1 = none)].
CLOCK_SLOTS = 3

_clock: Any = None  # a multiprocessing Array('d', CLOCK_SLOTS) or None
_local = threading.local()


class FitTimeout(Exception):
    """A fit ran longer than its time limit (``seconds``)."""

    def __init__(self, message: str = "fit exceeded its time limit", seconds: float | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds


def attach_clock(shared: Any) -> None:
    """Publish fit start times in ``shared`` (an ``mp.Array('d', CLOCK_SLOTS)``; None detaches)."""
    global _clock
    _clock = shared
    if shared is not None:
        shared[0], shared[1], shared[2] = 0.0, 0.0, -1.0


def set_trial(number: int | None) -> None:
    """Note the tuning trial now running (published with the clock; None after tuning)."""
    if _clock is not None:
        _clock[2] = -1.0 if number is None else float(number)


def read_clock(shared: Any) -> tuple[float | None, float, int | None]:
    """``(fit start or None, limit seconds, trial number or None)`` read from a worker's clock."""
    start, limit, trial = shared[0], shared[1], shared[2]
    return (start if start > 0 else None), limit, (int(trial) if trial >= 0 else None)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (None clears a pending one)."""
    obj = ctypes.py_object(exc) if exc is not None else ctypes.c_void_p(0)
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), obj)


class fit_limit:  # noqa: N801 - used like a function: ``with fit_limit(10): ...``
    """Bound the block to ``seconds`` of wall-clock time (None or ≤ 0: no limit, nothing is done).

    Raises :class:`FitTimeout` (with ``seconds`` set) when time ran out, whatever exception the
    interrupted code turned the asynchronous one into.  Nested blocks are allowed; only the
    outermost one in a thread publishes to the shared clock.  (If the exception lands at the
    very first bytecode of ``__exit__`` it escapes as a bare ``FitTimeout`` — still the right
    verdict; the next block repairs the bookkeeping.)
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = float(seconds) if seconds is not None and seconds > 0 else None
        self._lock = threading.Lock()
        self._active = False
        self._fired = False
        self._timer: threading.Timer | None = None
        self._thread_id = 0
        self._publish = False

    def __enter__(self) -> fit_limit:
        if self.seconds is None:
            return self
        self._thread_id = threading.get_ident()
        outer = getattr(_local, "owner", None)
        # An outer block whose timer fired may have lost its __exit__ to the exception: not live.
        if outer is None or not outer._active or outer._fired:
            _local.owner = self
        self._publish = _local.owner is self and _clock is not None
        if self._publish:
            _clock[1] = self.seconds
            _clock[0] = time.monotonic()
        self._active = True
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _fire(self) -> None:
        with self._lock:
            if self._active:
                self._fired = True
                _set_async_exc(self._thread_id, FitTimeout)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if self.seconds is None:
            return False
        fired = self._disarm()
        if getattr(_local, "owner", None) is self:
            _local.owner = None
        if self._publish:
            _clock[0] = 0.0
        if fired:
            raise FitTimeout(f"fit exceeded its time limit of {self.seconds:g} s", self.seconds) from exc
        return False

    def _disarm(self) -> bool:
        """Stop the timer; True when it fired.  Retries if the pending exception lands here."""
        fired = False
        while True:
            try:
                with self._lock:
                    self._active = False
                    fired = fired or self._fired
                    if self._fired:
                        _set_async_exc(self._thread_id, None)  # drop it if not yet delivered
                if self._timer is not None:
                    self._timer.cancel()
                return fired
            except FitTimeout:  # delivered inside this method: time was up, go round once more
                fired = True
