"""Starting worker processes without re-running the user's script.

Python's ``spawn`` start method re-imports the parent's ``__main__`` in every child. A script
that calls ``compare(..., jobs=2)`` without an ``if __name__ == "__main__":`` guard would then
call ``compare()`` again in each worker — which used to hang the parent forever. Our workers need
nothing from ``__main__``: jobs carry plain data and user estimators travel by value
(cloudpickle). So the executors start their processes inside :func:`hidden_main`, and the child
has no main module to re-run. :func:`refuse_while_bootstrapping` is the second line: a
``compare()`` or ``bench`` run reached while a child process is still bootstrapping (some other
pool re-ran the script) raises one clear error instead of starting a nested run.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

from benchmark.errors import InputError

#: Seconds a new worker process may take to say "ready" before the run stops with an error.
START_TIMEOUT = 120.0


@contextlib.contextmanager
def hidden_main() -> Iterator[None]:
    """While processes start, show ``multiprocessing`` an empty ``__main__`` (no file, no spec),
    so spawned children do not import (= run) the user's script."""
    real = sys.modules.get("__main__")
    stub = types.ModuleType("__main__")
    stub.__spec__ = None
    sys.modules["__main__"] = stub
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


def bootstrapping() -> bool:
    """Whether this process is a spawned child still importing its parent's main module."""
    import multiprocessing as mp

    return bool(getattr(mp.current_process(), "_inheriting", False))


def refuse_while_bootstrapping(what: str) -> None:
    """InputError when ``what`` is called while this process is bootstrapping (see module docstring)."""
    if bootstrapping():
        raise InputError(
            "called while a worker process was starting: the script was re-run by multiprocessing's spawn start method "
            "and reached this call at import time; put the call under `if __name__ == \"__main__\":`",
            where=what,
        )
