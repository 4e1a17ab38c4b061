"""Warm workers: a run that ends normally parks its idle worker processes, and the next run in the
same process adopts them instead of spawning (about 1.5 s of imports each), with the new run's
data, and only when nothing the workers read at start-up has changed.

Which workers ran a job is read from the records' ``pid``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from benchmark import compare
from benchmark.run.executors import local
from benchmark.run.executors.local import ProcessExecutor, close_parked, parked_count

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(candidates=["dummy", "linear"], trials=2, folds=2, inner=2, learning_curve=False, budget_curve=False, progress=False)


def _pids(run_dir: Path) -> set[int]:
    with (run_dir / "records.jsonl").open(encoding="utf-8") as fh:
        return {r["pid"] for r in map(json.loads, fh) if r.get("type") == "job"}


def _scores(run_dir: Path) -> dict[str, float]:
    with (run_dir / "records.jsonl").open(encoding="utf-8") as fh:
        return {r["key"]: r["test_roc_auc"] for r in map(json.loads, fh) if r.get("type") == "job"}


def _gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def no_parked():
    close_parked()
    yield
    close_parked()


def test_the_next_run_adopts_the_parked_workers_and_gets_its_own_data(no_parked, tmp_path):
    a = load_breast_cancer(as_frame=True)
    b = load_wine(as_frame=True)
    yb = (b.target == 0).astype(int)
    first = compare(a.data, a.target, jobs=2, out=tmp_path / "a", **SMALL)
    assert parked_count() == 2, "a run that ends normally parks its idle workers"
    warm = compare(b.data, yb, jobs=2, out=tmp_path / "b", **SMALL)
    assert _pids(warm.run_dir) <= _pids(first.run_dir), "the second run ran on the first run's workers"
    assert parked_count() == 2
    close_parked()
    assert parked_count() == 0
    cold = compare(b.data, yb, jobs=2, out=tmp_path / "c", **SMALL)
    assert not (_pids(cold.run_dir) & _pids(first.run_dir)), "after close_parked() the workers are new"
    assert _scores(warm.run_dir) == _scores(cold.run_dir), "warm workers give the same results as fresh ones"
    assert list(warm.leaderboard["candidate"]) == list(cold.leaderboard["candidate"])


def _started(pool: ProcessExecutor) -> ProcessExecutor:
    """Wait until every worker of ``pool`` is ready (running trivial jobs meanwhile)."""
    import time

    deadline = time.monotonic() + 120
    while not all(w.ready for w in pool._pool):
        assert list(pool.run([-1], fn=abs)) == [1]
        assert time.monotonic() < deadline, "workers did not start"
    return pool


def test_a_changed_environment_gets_fresh_workers(no_parked, monkeypatch):
    pool = _started(ProcessExecutor(1, warm=True))
    pid = pool._pool[0].proc.pid
    pool.close()
    assert parked_count() == 1
    monkeypatch.setenv("BENCHMARK_WARM_TEST", "1")  # a worker started before this does not see it
    pool = ProcessExecutor(1, warm=True)
    assert pool.adopted == 0 and pool._pool[0].proc.pid != pid
    pool.close(cancel=True)
    assert parked_count() == 0, "the stale worker was ended, the cancelled pool parked nothing"


def test_a_cancelled_pool_parks_nothing_and_a_cold_pool_adopts_nothing(no_parked):
    pool = _started(ProcessExecutor(2, warm=True))
    pool.close()
    assert parked_count() == 2
    cold = ProcessExecutor(1)  # warm=False: always spawns
    assert cold.adopted == 0
    cold.close()
    assert parked_count() == 2
    adopted = ProcessExecutor(2, warm=True)
    assert adopted.adopted == 2 and parked_count() == 0
    assert sorted(adopted.run([-5, -6], fn=abs)) == [5, 6]
    adopted.close(cancel=True)
    assert parked_count() == 0


def test_parked_workers_exit_when_idle(no_parked, monkeypatch):
    monkeypatch.setattr(local, "IDLE_SECONDS", 0.5)
    import time

    pool = _started(ProcessExecutor(1, warm=True))
    pid = pool._pool[0].proc.pid
    pool.close()
    assert parked_count() == 1
    deadline = time.monotonic() + 15  # the idle timer's thread ends and reaps it (this thread must not wait on it too)
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid)
    assert parked_count() == 0


def test_a_worker_whose_imported_source_changed_is_not_reused(tmp_path):
    """The rule a parked worker applies before it takes a new run: a module file imported from
    outside the installation and modified after the process started makes it stale."""
    mod = tmp_path / "user_model_mod.py"
    mod.write_text("X = 1\n", encoding="utf-8")
    os.utime(mod, (mod.stat().st_mtime - 60, mod.stat().st_mtime - 60))  # written before the process starts
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        import user_model_mod
        from benchmark.run.executors.local import _changed_sources
        before = _changed_sources()
        t = time.time() + 5
        os.utime(user_model_mod.__file__, (t, t))
        print(before, _changed_sources())
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "True"]


def test_bench_run_leaves_no_worker_behind(tmp_path):
    """One run per ``bench run`` process: its parked workers end with it."""
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nfolds: 2\ninner: 2\ntrials: 1\nlearning_curve: false\nbudget_curve: false\n"
                     "tasks: [{dataset: iris}]\ncandidates: [dummy]\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(tmp_path / "run"), "--jobs", "2", "--no-progress"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    pids = _pids(tmp_path / "run")
    assert pids and all(_gone(p) for p in pids)
    assert np.isfinite(list(_scores(tmp_path / "run").values())).all()


def test_another_current_folder_gets_fresh_workers(no_parked, tmp_path, monkeypatch):
    """Spawned workers start in the driver's folder, and relative data paths are read from it."""
    _started(ProcessExecutor(1, warm=True)).close()
    assert parked_count() == 1
    monkeypatch.chdir(tmp_path)
    pool = ProcessExecutor(1, warm=True)
    assert pool.adopted == 0 and parked_count() == 0
    pool.close(cancel=True)
