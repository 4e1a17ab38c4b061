"""Hold-up: per-fit time limits, crash isolation, retries, and kill -9 then --resume.

The faults come from :class:`benchmark.testing.FaultyEstimator` (candidate base ``fault``).
One process-pool run with every kind of fault is shared by most tests, so the file stays short.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from sklearn.base import clone

from benchmark.config import parse_suite
from benchmark.results.store import Store
from benchmark.run.driver import run_suite
from benchmark.run.limits import FitTimeout, fit_limit
from benchmark.testing import FaultyEstimator

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1.0


def _suite(candidates, **extra):
    raw = {"name": "holdup", "tasks": [{"dataset": "iris"}], "candidates": candidates, "trials": 2, "folds": 2, "inner": 2,
           "seed": 0, "learning_curve": False, "budget_curve": False, **extra}
    return parse_suite(raw)


def _records(run_dir):
    return [r for r in Store(run_dir).records() if r["type"] == "job"]


def _by_candidate(recs):
    out = {}
    for r in recs:
        out.setdefault(r["candidate"], []).append(r)
    return out


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """iris, 2 outer folds, timeout 1 s, retries 0, a 2-worker pool; one candidate per fault."""
    tmp = tmp_path_factory.mktemp("holdup")
    cands = [
        "dummy",
        # trial 0 (the default) is fine; trial 1 samples mode=sleep and sleeps 5 s in Python
        {"name": "slow_trial", "base": "fault", "params": {"seconds": 5}, "space": {"mode": {"type": "categorical", "choices": ["sleep"]}}},
        {"name": "slow_refit", "base": "fault", "params": {"mode": "sleep", "seconds": 5, "min_rows": 60}},  # inner fits ~37 rows, refit 75
        {"name": "slow_curve", "base": "fault", "params": {"mode": "sleep", "seconds": 5, "max_rows": 20}},  # only the 20 % curve point
        # each process-killing fault strikes once (the first fit to get there), so the run
        # replaces few workers; the candidate's other job shows the run went on
        {"name": "hang", "base": "fault", "params": {"mode": "hang", "seconds": 60, "once": str(tmp / "hang")}},
        {"name": "segv", "base": "fault", "params": {"mode": "segfault", "once": str(tmp / "segv")}},
        {"name": "exits", "base": "fault", "params": {"mode": "exit", "once": str(tmp / "exit")}},
        {"name": "killed", "base": "fault", "params": {"mode": "kill", "once": str(tmp / "kill")}},
        {"name": "boom", "base": "fault", "params": {"mode": "raise"}},
    ]
    suite = _suite(cands, timeout=TIMEOUT, learning_curve=[0.2, 1.0])
    t0 = time.perf_counter()
    run_suite(suite, out=tmp / "run", jobs=2, progress=False)
    return _by_candidate(_records(tmp / "run")), time.perf_counter() - t0, tmp / "run"


def test_fit_limit_stops_a_python_loop_in_main_and_other_threads():
    def spin(result):
        t = time.monotonic()
        try:
            with fit_limit(0.2):
                while time.monotonic() - t < 10:
                    pass
        except FitTimeout as exc:
            result.append((time.monotonic() - t, exc.seconds))

    got = []
    spin(got)
    th = threading.Thread(target=spin, args=(got,))
    th.start()
    th.join()
    assert [s for _, s in got] == [0.2, 0.2]
    assert all(0.2 <= el < 2.0 for el, _ in got)
    # a block that ends before its limit leaves nothing behind, even when the limit is tight
    for _ in range(50):
        try:
            with fit_limit(0.002):
                time.sleep(0.002)
        except FitTimeout:
            pass
        t = time.monotonic()
        while time.monotonic() - t < 0.005:  # a stray asynchronous FitTimeout would land here
            pass
    with fit_limit(None):
        time.sleep(0.01)


def test_faulty_estimator_is_a_clonable_sklearn_estimator(tmp_path):
    est = FaultyEstimator(mode="raise", seconds=2, once=str(tmp_path / "m"))
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(RuntimeError, match="asked to raise"):
        est.fit([[0]] * 4, [0, 1, 0, 1])
    est.fit([[0]] * 4, [0, 1, 1, 1])  # the marker exists now: the fault happened once
    assert est.predict_proba([[0]] * 2).tolist() == [[0.25, 0.75]] * 2


def test_soft_timeout_marks_the_trial_and_tuning_goes_on(fault_run):
    recs, _, _ = fault_run
    for r in recs["slow_trial"]:
        assert r["state"] == "ok"
        assert [t["state"] for t in r["trials"]] == ["ok", "timeout"]
        slow = r["trials"][1]
        assert slow["params"] == {"mode": "sleep"} and "time limit of 1 s" in slow["error"]
        assert TIMEOUT <= slow["seconds"] < TIMEOUT + 1.5  # stopped, not slept the whole 5 s
        assert r["best_trial"] == 0 and r["n_failed_trials"] == 1


def test_refit_timeout_makes_the_job_timeout_and_curve_timeouts_stay_points(fault_run):
    recs, _, _ = fault_run
    for r in recs["slow_refit"]:
        assert (r["state"], r["error_kind"]) == ("timeout", "timeout")
        assert r["error"].startswith("FitTimeout") and "time limit of 1 s" in r["error"]
    for r in recs["slow_curve"]:
        assert r["state"] == "ok"
        small, full = r["learning_curve"]
        assert small["fraction"] == 0.2 and small["timeout"] is True and small["error"].startswith("FitTimeout")
        assert full["fraction"] == 1.0 and "error" not in full


def test_hard_timeout_kills_the_worker_and_the_run_goes_on(fault_run):
    recs, seconds, _ = fault_run
    fine, hung = sorted(recs["hang"], key=lambda r: r["state"])  # "ok" < "timeout"
    assert (hung["state"], hung["error_kind"], hung["timeout_trial"]) == ("timeout", "timeout", 0)
    assert "worker process killed" in hung["error"]
    assert fine["state"] == "ok"
    assert {r["state"] for r in recs["dummy"]} == {"ok"}
    assert sum(len(v) for v in recs.values()) == 2 * 9  # every job has exactly one record
    assert seconds < 60  # the hang of 60 s was cut short


@pytest.mark.parametrize("cand, text", [("segv", "signal SIGSEGV (exit code -11)"), ("exits", "exit code 13"), ("killed", "signal SIGKILL (exit code -9")])
def test_a_dying_worker_fails_only_its_job(fault_run, cand, text):
    recs, _, _ = fault_run
    crashed, fine = sorted(recs[cand], key=lambda r: r["state"])  # retries: 0, so the crash is recorded
    assert (crashed["state"], crashed["error_kind"]) == ("failed", "crash")
    assert crashed["error"].startswith("worker process died: " + text)
    assert "attempts" not in crashed and fine["state"] == "ok"
    # model errors are told apart from crashes
    assert {(r["state"], r["error_kind"]) for r in recs["boom"]} == {("failed", "model")}


def test_the_report_tags_failures_with_their_kind(fault_run):
    from benchmark.report import write_report

    *_, run_dir = fault_run
    page = write_report(run_dir).read_text(encoding="utf-8")
    for tag in ("[crash] worker process died: signal SIGSEGV", "[timeout] FitTimeout: a fit overran the time limit of 1 s",
                "[model] TuningFailed", "learning curve (timed out)"):
        assert tag in page


def test_retries_resubmit_crashes_but_not_model_errors(tmp_path):
    cands = [
        {"name": "flaky", "base": "fault", "params": {"mode": "exit", "once": str(tmp_path / "flaky.marker")}},
        {"name": "boom", "base": "fault", "params": {"mode": "raise"}},
    ]
    run_suite(_suite(cands, retries=1, trials=1), out=tmp_path / "run", jobs=1, progress=False)
    recs = _by_candidate(_records(tmp_path / "run"))
    assert [r["state"] for r in recs["flaky"]] == ["ok", "ok"]
    assert sorted(r.get("attempts", 1) for r in recs["flaky"]) == [1, 2]
    assert [(r["state"], r["error_kind"], r.get("attempts", 1)) for r in recs["boom"]] == [("failed", "model", 1)] * 2


# --------------------------------------------------------------------------------------------
# kill -9 of the driver, then --resume

KILL_SUITE = """
name: killme
tasks: [{dataset: iris}]
folds: 3
inner: 2
trials: 2
seed: 5
learning_curve: false
budget_curve: false
candidates:
  - linear
  - knn
  - {name: pace, base: fault, params: {mode: sleep, seconds: 0.15}}
"""


def _score_view(recs):
    keys = [r["key"] for r in recs]
    assert len(keys) == len(set(keys)), "a job was recorded twice"
    return {r["key"]: (r["state"], r.get("best_params"), [t.get("value") for t in r.get("trials", [])], r.get("test_roc_auc")) for r in recs}


def _bench_run(suite_file, out, *extra):
    cmd = [sys.executable, "-m", "benchmark", "run", str(suite_file), "--out", str(out), "--jobs", "2", "--no-progress", *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_after(proc, records, k):
    """SIGKILL the driver ``proc`` once ``k`` records are on disk; return the worker processes it had."""
    deadline = time.monotonic() + 120
    children = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            children = psutil.Process(proc.pid).children(recursive=True) or children
        except psutil.NoSuchProcess:
            break
        if records.is_file() and records.read_bytes().count(b"\n") >= k:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return children


def _alive(procs):
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_kill_9_then_resume_loses_and_repeats_nothing(tmp_path):
    """Kill the driver after 2 records, resume and kill it again after 6 (then tear the last
    line), resume to the end: the records equal an uninterrupted in-process run's."""
    suite_file = tmp_path / "killme.yaml"
    suite_file.write_text(KILL_SUITE)
    from benchmark.config import load_suite

    reference = run_suite(load_suite(suite_file), out=tmp_path / "ref", jobs=1, progress=False)  # in-process executor
    expected = _score_view(_records(reference.run_dir))
    assert len(expected) == 9 and {s for s, *_ in expected.values()} == {"ok"}

    out = tmp_path / "killed"
    records = out / "records.jsonl"
    for k, extra in ((2, ()), (6, ("--resume",))):
        children = _kill_after(_bench_run(suite_file, out, *extra), records, k)
        assert children, "the driver had no worker processes"
        deadline = time.monotonic() + 5
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(children), f"orphan workers survived the driver: {[p.pid for p in _alive(children)]}"
        assert k <= len(_records(out)) <= 9
        _score_view(_records(out))  # no key twice so far
    with open(records, "ab") as fh:  # killed in the middle of writing a record
        fh.write(b'{"type": "job", "key": "iris\\u001fknn')
    proc = _bench_run(suite_file, out, "--resume")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()[-2000:]
    lines = records.read_bytes().splitlines()
    assert all(json.loads(line)["key"] for line in lines)  # the torn line is gone, every line parses
    assert _score_view(_records(out)) == expected
