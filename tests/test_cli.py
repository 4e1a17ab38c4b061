"""The command line end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, runpy\n"
        "sys.argv=['bench','--help']\n"
        "try:\n runpy.run_module('benchmark', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "heavy=[m for m in ('torch','xgboost','catboost','lightgbm','sklearn','dask','distributed','pandas','scipy','optuna','matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_list_commands():
    cands = _bench("list", "candidates")
    assert cands.returncode == 0
    for name in ("dummy", "linear", "knn", "svm", "random_forest", "extra_trees", "hist_gb", "xgboost", "lightgbm", "catboost"):
        assert name in cands.stdout
    suites = _bench("list", "suites")
    assert "quick" in suites.stdout and "standard" in suites.stdout
    datasets = _bench("list", "datasets")
    assert datasets.returncode == 0 and "breast_cancer" in datasets.stdout and "regression" in datasets.stdout


def test_run_report_and_rank_on_a_small_suite(tmp_path):
    suite = tmp_path / "mini.yaml"
    suite.write_text(
        "name: mini\nfolds: 2\ninner: 2\ntrials: 2\n"
        "tasks: [iris, breast_cancer]\ncandidates: [dummy, linear, knn]\n"
    )
    out = tmp_path / "run"
    res = _bench("run", str(suite), "--out", str(out), "--jobs", "2", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert f"report: {out / 'report.html'}" in res.stdout
    csv = pd.read_csv(out / "results.csv")
    assert len(csv) == 2 * 3 * 2 and set(csv["state"]) == {"ok"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"suite", "versions", "machine", "tasks", "seed"} <= set(manifest)
    assert all(len(t["data_hash"]) == 64 and len(t["split_hash"]) == 64 for t in manifest["tasks"].values())
    (out / "report.html").unlink()
    rep = _bench("report", str(out))
    assert rep.returncode == 0 and (out / "report.html").is_file()
    rank = _bench("rank", str(out), "--json")
    assert rank.returncode == 0, rank.stderr
    data = json.loads(rank.stdout)
    assert set(data["mean_ranks"]) == {"dummy", "linear", "knn"}
    assert data["mean_ranks"]["dummy"] == 3.0  # chance level is last on both tasks


@pytest.mark.slow
def test_quick_suite_end_to_end(tmp_path):
    """What `make bench SUITE=quick` runs."""
    out = tmp_path / "quick"
    res = _bench("run", "suites/quick.yaml", "--out", str(out), "--jobs", "2", "--no-progress", timeout=1200)
    assert res.returncode == 0, res.stderr
    csv = pd.read_csv(out / "results.csv")
    assert len(csv) == 3 * 19 * 3 and (csv["state"] == "ok").all()
    trials = csv.groupby("candidate")["n_trials"].agg(set).to_dict()
    # voting (a soft vote of its members' defaults) has no search space: one configuration, one trial;
    # ensemble_selection is post hoc: no trials of its own; every other candidate runs the full budget
    assert trials.pop("voting") == {1} and trials.pop("ensemble_selection") == {0}
    assert all(t == {5} for t in trials.values()), trials
    html = (out / "report.html").read_text()
    assert "Ran one configuration only, having nothing to tune: <b>voting</b>" in html
    assert "<b>voting</b> had nothing to tune and ran its one configuration" in html
