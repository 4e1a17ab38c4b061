"""The Dask executor: the same records as the local executor, data sent once per worker, a dead
worker is a record, resume across executors, clear errors. Runs real ``LocalCluster``s."""

import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.config import load_suite
from benchmark.results.store import Store
from benchmark.run.driver import run_suite
from benchmark.testing import make_frame

#: Fields that say where and how fast a job ran, not what it computed.
#: model_bytes is the pickled size of the refitted model, a cost like the timings: it depends on how
#: the process got its data (a frame Dask shipped pickles its column index a few bytes differently).
WHERE_AND_WHEN = {"pid", "host", "started", "model_bytes"}

SUITE = """\
name: dasktest
seed: 3
folds: 2
inner: 2
trials: 2
learning_curve: false
budget_curve: false
metric: {classification: accuracy, regression: rmse}
tasks:
  - dataset: iris
  - name: reg
    path: reg.csv
    target: y
candidates:
  - linear
  - knn
  - {name: hgb, base: hist_gb, params: {max_iter: 15}}
"""


def _untimed(value):
    """``value`` without timings at any depth (their keys end in ``seconds``)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _comparable(rec: dict) -> dict:
    """A record without its timings, process and host: what the job computed."""
    return _untimed({k: v for k, v in rec.items() if k not in WHERE_AND_WHEN})


def _jobs(run_dir) -> dict[str, dict]:
    return {r["key"]: r for r in Store(run_dir).records() if r.get("type") == "job"}


def _assert_same_records(run_dir, ref_dir) -> None:
    got, want = _jobs(run_dir), _jobs(ref_dir)
    assert set(got) == set(want)
    for key in want:
        assert _comparable(got[key]) == _comparable(want[key]), key


# ---- helpers that run inside the Dask workers (imported there from this module) ----

def _count_loads() -> int:
    """Wrap benchmark.data.resolve.load_task so each call is counted per task; empty the task cache."""
    import benchmark.data.resolve as tasks_mod
    from benchmark.run.worker import forget_tasks

    forget_tasks()
    counts: dict[str, int] = {}
    original = getattr(tasks_mod.load_task, "__wrapped__", tasks_mod.load_task)

    def counting(cfg, **kw):
        counts[cfg.name] = counts.get(cfg.name, 0) + 1
        return original(cfg, **kw)

    counting.__wrapped__ = original
    counting.counts = counts
    tasks_mod.load_task = counting
    return os.getpid()


def _loads() -> dict[str, int]:
    import benchmark.data.resolve as tasks_mod

    return dict(getattr(tasks_mod.load_task, "counts", {}))


def _received() -> dict[str, int]:
    from benchmark.run.executors.dask_plugins import RECEIVED

    return dict(RECEIVED)


def _cached() -> int:
    from benchmark.run.worker import cached_task_count

    return cached_task_count()


# ---- fixtures ----

@pytest.fixture(scope="module")
def suite_path(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dasksuite")
    X = make_frame(120, seed=5, missing=False)
    X["y"] = 2.0 * X["x0"] - X["x1"] + np.random.default_rng(1).normal(scale=0.3, size=len(X))
    X.to_csv(d / "reg.csv", index=False)
    (d / "suite.yaml").write_text(SUITE)
    return d / "suite.yaml"


@pytest.fixture(scope="module")
def reference(suite_path, tmp_path_factory) -> Path:
    """The suite run by the local (inline) executor."""
    out = tmp_path_factory.mktemp("ref") / "run"
    run_suite(load_suite(suite_path), out=out, jobs=1, progress=False)
    return out


@pytest.fixture(scope="module")
def cluster():
    """One two-process LocalCluster for the tests that connect to an existing scheduler."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cl = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
    client = Client(cl, set_as_default=False)
    yield cl, client
    client.close()
    cl.close()


# ---- tests ----

def test_dask_local_from_the_command_line_gives_the_records_of_the_local_executor(suite_path, reference, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", str(suite_path), "--executor", "dask-local", "--jobs", "2", "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert "jobs: 12 (0 resumed, 12 run, 0 failed)" in capsys.readouterr().out
    _assert_same_records(out, reference)
    recs = _jobs(out).values()
    assert os.getpid() not in {r["pid"] for r in recs}, "jobs must run in the cluster's worker processes"
    assert Store(out).read_manifest()["executor"] == {"name": "dask-local", "workers": 2}


def test_each_worker_process_loads_each_task_once(suite_path, reference, cluster, tmp_path):
    cl, client = cluster
    pids = client.run(_count_loads)  # {worker address: pid}
    out = tmp_path / "run"
    run_suite(load_suite(suite_path), out=out, jobs=2, progress=False, executor=cl.scheduler_address)
    _assert_same_records(out, reference)
    loads = client.run(_loads)
    ran: dict[int, set[str]] = {}
    for r in _jobs(out).values():
        ran.setdefault(r["pid"], set()).add(r["task"])
    assert set(ran) <= set(pids.values())
    for address, pid in pids.items():
        # 12 jobs on 2 workers, yet each worker loaded each task it ran exactly once
        assert loads[address] == dict.fromkeys(ran.get(pid, ()), 1), (address, loads[address])
    assert sum(len(v) for v in ran.values()) >= 2
    assert set(client.run(_cached).values()) == {0}, "the run's tasks are dropped from the workers' caches afterwards"


def test_in_memory_compare_on_dask_matches_local_and_ships_the_data_once_per_worker(cluster, tmp_path):
    from benchmark.api import compare

    cl, client = cluster
    X = make_frame(150, seed=2)
    y = (X["x0"].fillna(0) + X["x2"] > 0).astype(int).to_numpy()
    opts = dict(candidates=["linear", "knn"], trials=2, folds=3, inner=2, learning_curve=False, budget_curve=False, name="mem")
    before = client.run(_received)
    on_dask = compare(X, y, executor=cl.scheduler_address, jobs=2, out=tmp_path / "dask", **opts)
    after = client.run(_received)
    local = compare(X, y, executor="local", jobs=1, out=tmp_path / "local", **opts)
    _assert_same_records(on_dask.run_dir, local.run_dir)
    assert len(_jobs(on_dask.run_dir)) == 6
    for address in after:
        assert after[address].get("mem", 0) - before.get(address, {}).get("mem", 0) == 1, "each worker receives the data once, not once per job"
    pd.testing.assert_frame_equal(on_dask.leaderboard.drop(columns="fit_seconds"), local.leaderboard.drop(columns="fit_seconds"))


def test_a_job_whose_worker_dies_is_a_failed_record_and_the_run_goes_on(cluster, tmp_path):
    cl, _ = cluster
    raw = {"name": "crash", "tasks": [{"dataset": "iris"}], "folds": 2, "inner": 2, "trials": 1, "learning_curve": False, "budget_curve": False,
           "candidates": ["linear", {"name": "crashy", "base": "fault", "params": {"mode": "exit"}}]}
    from benchmark.config import parse_suite

    res = run_suite(parse_suite(raw), out=tmp_path / "run", jobs=2, progress=False, executor=cl.scheduler_address)
    recs = list(_jobs(tmp_path / "run").values())
    assert res.n_failed == 2 and len(recs) == 4
    assert {r["fold"]: r["state"] for r in recs if r["candidate"] == "linear"} == {0: "ok", 1: "ok"}
    crashed = [r for r in recs if r["candidate"] == "crashy"]
    assert {r["fold"] for r in crashed} == {0, 1}
    for r in crashed:
        assert r["state"] == "failed" and r["error_kind"] == "crash"
        assert "worker tcp://127.0.0.1:" in r["error"] and "died while running this job" in r["error"]


def test_resuming_a_half_done_local_run_on_dask_completes_it_identically(suite_path, reference, cluster, tmp_path):
    cl, _ = cluster
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    lines = (out / "records.jsonl").read_text().splitlines(keepends=True)
    (out / "records.jsonl").write_text("".join(lines[:5]))
    kept = {json.loads(line)["key"]: json.loads(line) for line in lines[:5]}
    res = run_suite(load_suite(suite_path), out=out, jobs=2, resume=True, progress=False, executor=cl.scheduler_address)
    assert (res.n_done_before, res.n_jobs) == (5, 12)
    _assert_same_records(out, reference)
    assert all(_jobs(out)[k] == rec for k, rec in kept.items()), "resumed jobs are kept as they were"
    assert Store(out).read_manifest()["executor"] == {"name": "dask", "address": cl.scheduler_address}


def test_unreachable_scheduler_is_one_line_and_exit_2(suite_path, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", str(suite_path), "--executor", "dask://127.0.0.1:9", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("bench run: error: --executor dask://127.0.0.1:9: cannot connect to a Dask scheduler at 127.0.0.1:9"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists(), "nothing is written before the scheduler answers"


@pytest.mark.parametrize("bad", ["dask:/host:8786", "tcp://host", "tcp://host:99999", "slurm"])
def test_malformed_executor_is_refused_by_the_parser(bad, suite_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(suite_path), "--executor", bad])
    assert exc.value.code == 2
    assert "argument --executor:" in capsys.readouterr().err


def test_cancel_shuts_a_local_cluster_down_while_a_job_runs(suite_path):
    import psutil

    from benchmark.run.driver import expand_jobs, load_tasks, make_plans
    from benchmark.run.executors.dask_cluster import DaskExecutor

    raw_suite = load_suite(suite_path)
    from benchmark.config import parse_suite

    suite = parse_suite({"name": "cancel", "tasks": [{"dataset": "iris"}], "folds": 2, "inner": 2, "trials": 1, "learning_curve": False, "budget_curve": False,
                         "candidates": ["dummy", {"name": "slow", "base": "fault", "params": {"mode": "sleep", "seconds": 60}}]}, base_dir=raw_suite.base_dir)
    tasks = load_tasks(suite)
    jobs = expand_jobs(suite, tasks, make_plans(suite, tasks), in_memory=False, n_threads=1)
    jobs.sort(key=lambda j: j.candidate.name != "dummy")  # the two quick jobs first, then the 60-second ones
    ex = DaskExecutor("dask-local", workers=2)
    worker_pids = set(ex.client.run(os.getpid).values())
    records = ex.run(jobs)
    first = next(records)
    assert first["candidate"] == "dummy" and first["state"] == "ok"
    t = time.perf_counter()
    ex.close(cancel=True)
    assert time.perf_counter() - t < 20, "close(cancel=True) must not wait for the running 60-second fits"
    time.sleep(0.5)
    assert not [p for p in worker_pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_workers_with_other_library_versions_are_refused(cluster, suite_path, monkeypatch):
    from importlib import metadata

    from benchmark import provenance
    from benchmark.errors import InputError
    from benchmark.run.driver import expand_jobs, load_tasks, make_plans
    from benchmark.run.executors.dask_cluster import DaskExecutor

    cl, _ = cluster
    real = metadata.version("scikit-learn")
    # at connect time: the driver (this process) pretends to have another scikit-learn than the workers
    original = provenance.versions
    monkeypatch.setattr(provenance, "versions", lambda *extra: {**original(*extra), "scikit-learn": "0.0.1"})
    with pytest.raises(InputError, match=rf"worker tcp://127\.0\.0\.1:\d+ has other library versions than this machine: scikit-learn {real} \(driver 0\.0\.1\)"):
        DaskExecutor(cl.scheduler_address)
    monkeypatch.undo()
    # a worker that passed the connect-time check (or joined later) is checked again before its first job
    suite = load_suite(suite_path)
    tasks = load_tasks(suite)
    job = expand_jobs(suite, tasks, make_plans(suite, tasks), in_memory=False, n_threads=1)[0]
    ex = DaskExecutor(cl.scheduler_address)
    try:
        ex._versions = {**ex._versions, "numpy": "0.0.2"}
        (rec,) = list(ex.run([job]))
    finally:
        ex.close()
    assert rec["state"] == "failed" and rec["error_kind"] == "infrastructure" and rec["key"] == job.key
    assert f"numpy {metadata.version('numpy')} (driver 0.0.2)" in rec["error"] and "worker tcp://127.0.0.1:" in rec["error"]
