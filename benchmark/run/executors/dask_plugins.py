"""The Dask worker plugin of :mod:`benchmark.run.executors.dask_cluster` (imports ``distributed``; loaded only for Dask runs)."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from benchmark.run.worker import forget_tasks, preload_tasks

#: Per worker process: how many times each in-memory task arrived (one per plugin set-up).
RECEIVED: Counter[str] = Counter()


class SetupWorker(WorkerPlugin):
    """Prepares each worker process once: caches the run's in-memory tasks; on a LocalCluster,
    ignores Ctrl-C (the driver shuts the workers down itself).

    Dask sends the plugin, with the tasks, to every worker once, including workers that join or
    restart later; jobs then carry only a reference (:class:`benchmark.run.worker.TaskRef`).
    """

    idempotent = False

    def __init__(self, tasks: dict[str, Any], *, ignore_sigint: bool = False) -> None:
        self.tasks = tasks
        self.ignore_sigint = ignore_sigint

    def setup(self, worker: Any) -> None:
        preload_tasks(self.tasks)
        RECEIVED.update(task.name for task in self.tasks.values())
        if self.ignore_sigint and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def teardown(self, worker: Any) -> None:
        forget_tasks((task.name, task.data_hash) for task in self.tasks.values())
