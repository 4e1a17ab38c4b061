"""Where jobs run: the choice of executor, and the facts every executor shares.

``--executor`` (and ``compare(executor=...)``) is checked here (:func:`parse_executor`,
:func:`check_reachable`), described for the manifest (:func:`describe`) and turned into an
executor (:func:`make_executor`):

- :mod:`benchmark.run.executors.local`: ``InlineExecutor`` (in this process) and
  ``ProcessExecutor`` (our own pool of spawned worker processes);
- :mod:`benchmark.run.executors.dask_cluster`: ``DaskExecutor`` (a Dask LocalCluster or an
  existing scheduler).

Both are imported only when an executor is built; they never import each other nor this
module (what they share, the thread settings, is in :mod:`benchmark.run.executors.threads`).
This module imports no heavy library, so ``bench --help`` (which reads :data:`EXECUTOR_HELP`)
stays light.
"""

from __future__ import annotations

import re
from typing import Any

from benchmark.errors import InputError
from benchmark.run.executors.spawning import refuse_while_bootstrapping
from benchmark.run.executors.threads import MODEL_THREADS, THREAD_VARS

__all__ = ["EXECUTOR_HELP", "MODEL_THREADS", "THREAD_VARS", "check_reachable", "refuse_while_bootstrapping", "describe", "executor_arg", "make_executor", "parse_executor"]


#: ``--executor`` values: the local process pool, a local Dask cluster, or a scheduler address.
EXECUTOR_HELP = "local (default: process pool), dask-local (a Dask LocalCluster of --jobs workers) or a Dask scheduler address dask://HOST:PORT / tcp://HOST:PORT"

_ADDRESS = re.compile(r"^(?P<scheme>dask|tcp|tls)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


def parse_executor(text: str) -> str:
    """Check an ``--executor`` value: ``local``, ``dask-local`` or ``SCHEME://HOST:PORT``.

    Schemes: ``dask://`` (another spelling of ``tcp://``, kept as written so messages quote the
    user), ``tcp://``, ``tls://``. Raises :class:`InputError` (``where="--executor"``) naming
    the accepted forms.
    """
    value = str(text).strip()
    if value in ("local", "dask-local"):
        return value
    m = _ADDRESS.match(value)
    if m is None:
        raise InputError(f"{text!r} is not an executor; use local, dask-local or dask://HOST:PORT (a running Dask scheduler, e.g. tcp://10.0.0.5:8786)", where="--executor")
    port = int(m["port"])
    if not 1 <= port <= 65535:
        raise InputError(f"{text!r}: port {port} is out of range 1..65535", where="--executor")
    return f"{m['scheme']}://{m['host']}:{port}"


def executor_arg(text: str) -> str:
    """``type=`` for argparse: :func:`parse_executor` with the error as an ``ArgumentTypeError``."""
    import argparse

    try:
        return parse_executor(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(err.detail) from None


def check_reachable(executor: str, *, timeout: float = 5.0) -> None:
    """Fail early, before a run directory is written, when a scheduler address does not answer.

    A plain TCP connection attempt (no Dask import); ``local`` and ``dask-local`` pass.
    """
    if executor in ("local", "dask-local"):
        return
    import socket

    m = _ADDRESS.match(executor)
    if m is None:
        raise InputError(f"{executor!r} is not an executor; use local, dask-local or dask://HOST:PORT", where="--executor")
    host = m["host"].strip("[]")
    try:
        socket.create_connection((host, int(m["port"])), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise InputError(
            f"cannot connect to a Dask scheduler at {host}:{m['port']} ({reason}); start the cluster first and check HOST:PORT (see docs/cluster.md)",
            where=f"--executor {executor}",
        ) from None


def describe(executor: str, workers: int) -> dict[str, Any]:
    """What the run manifest records about the executor (not part of the resume check)."""
    if executor == "local":
        return {"name": "local", "workers": workers}
    if executor == "dask-local":
        return {"name": "dask-local", "workers": workers}
    return {"name": "dask", "address": executor}


def make_executor(jobs: int, tasks: dict[str, Any] | None = None, *, retries: int = 0, isolate: bool = False, executor: str = "local") -> Any:
    """A process pool of ``jobs`` workers; inline when ``jobs == 1`` unless ``isolate``.

    ``retries``: how often a job lost to a crashed worker is re-submitted (process pool only).
    ``executor``: ``local`` (the above), ``dask-local`` (a Dask LocalCluster of ``jobs`` worker
    processes) or a Dask scheduler address ``tcp://HOST:PORT`` (see :mod:`benchmark.run.executors.dask_cluster`).
    """
    if executor != "local":
        from benchmark.run.executors.dask_cluster import DaskExecutor

        return DaskExecutor(executor, workers=max(1, jobs), tasks=tasks, retries=retries)
    from benchmark.run.executors.local import InlineExecutor, ProcessExecutor

    if jobs <= 1 and not isolate:
        return InlineExecutor(tasks)
    return ProcessExecutor(max(1, jobs), tasks, retries=retries, warm=True)

