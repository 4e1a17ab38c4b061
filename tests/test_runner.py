"""The runner's promises: equal budgets, shared splits, no leakage, resume without repeats."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmark.config import parse_suite
from benchmark.data.build import from_frame
from benchmark.report import write_report
from benchmark.results.records import job_id
from benchmark.results.store import Store
from benchmark.results.table import ResultTable
from benchmark.run.driver import run_suite
from benchmark.testing import random_labels

ALL = ["dummy", "linear", "knn", "svm", "random_forest", "extra_trees", "hist_gb", "xgboost", "lightgbm", "catboost"]
# the same models with fewer trees/rounds, so the whole-registry run stays quick
SMALL = {"random_forest": {"n_estimators": 50}, "extra_trees": {"n_estimators": 50}, "hist_gb": {"max_iter": 50},
         "xgboost": {"n_estimators": 50}, "lightgbm": {"n_estimators": 50}, "catboost": {"iterations": 50}}
FAST = ["dummy", "linear", "knn", "hist_gb"]


def _suite(candidates, *, trials=3, folds=3, inner=2, seed=0, name="t", **extra):
    raw = {"name": name, "tasks": [{"dataset": "iris"}], "candidates": candidates, "trials": trials, "folds": folds, "inner": inner, "seed": seed, **extra}
    return parse_suite(raw)


def _memory_suite(suite, task_name):
    from dataclasses import replace

    from benchmark.config import TaskConfig

    return replace(suite, tasks=(TaskConfig(name=task_name),))


def _records(run_dir):
    return [r for r in Store(run_dir).records() if r["type"] == "job"]


@pytest.fixture(scope="module")
def random_label_run(tmp_path_factory):
    """All candidates on labels that carry no signal, run in a 2-process pool."""
    X, y = random_labels(300, seed=3)
    task = from_frame(X, y, name="noise")
    cands = [{"name": c, "params": SMALL[c]} if c in SMALL else c for c in ALL]
    suite = _memory_suite(_suite(cands, trials=3, folds=3, inner=2, metric="roc_auc"), "noise")
    out = tmp_path_factory.mktemp("runs") / "noise"
    run_suite(suite, out=out, jobs=2, progress=False, tasks={"noise": task})
    write_report(out)
    return out


def test_every_candidate_gets_exactly_the_same_trials_on_every_fold(random_label_run):
    recs = _records(random_label_run)
    assert len(recs) == len(ALL) * 3
    assert {r["state"] for r in recs} == {"ok"}
    for r in recs:
        assert r["n_trials"] == 3 == len(r["trials"]), (r["candidate"], r["fold"])
        assert r["trials"][0]["params"] == {}, "trial 0 must be the default configuration"
        assert [t["number"] for t in r["trials"]] == [0, 1, 2]


def test_splits_are_identical_across_candidates(random_label_run):
    recs = _records(random_label_run)
    by_fold = {}
    for r in recs:
        by_fold.setdefault(r["fold"], set()).add((r["fold_hash"], r["split_hash"], r["n_train"], r["n_test"]))
    assert len(by_fold) == 3
    for fold, seen in by_fold.items():
        assert len(seen) == 1, f"fold {fold} differs between candidates: {seen}"
    manifest = Store(random_label_run).read_manifest()
    assert {r["split_hash"] for r in recs} == {manifest["tasks"]["noise"]["split_hash"]}


def test_random_labels_give_chance_level_for_every_candidate(random_label_run):
    """No leakage: tuning never sees the outer test fold, so noise cannot be learned."""
    table = ResultTable.from_run(random_label_run)
    means = table.df.groupby("candidate")["test_roc_auc"].mean()
    assert set(means.index) == set(ALL)
    for cand, auc in means.items():
        assert abs(auc - 0.5) < 0.12, f"{cand}: mean test AUC {auc:.3f} on random labels"
    # ... while the inner (tuning) scores of the best configuration are optimistic or at chance, never a test score
    assert (table.df["best_inner_score"].notna()).all()


def test_seconds_budget_caps_trials_but_runs_the_default(tmp_path):
    X, y = random_labels(120, seed=0)
    task = from_frame(X, y, name="tiny")
    suite = _memory_suite(_suite(["linear", "knn"], trials=50, folds=2, inner=2, seconds=1e-6), "tiny")
    run_suite(suite, out=tmp_path / "r", progress=False, tasks={"tiny": task})
    for r in _records(tmp_path / "r"):
        assert r["n_trials"] == 1 and r["trials"][0]["params"] == {}


def test_regression_and_registry_task(tmp_path):
    suite = parse_suite({"name": "reg", "tasks": [{"dataset": "diabetes"}], "candidates": ["dummy", "linear"], "trials": 2, "folds": 2, "inner": 2})
    res = run_suite(suite, out=tmp_path / "r", progress=False)
    write_report(res.run_dir)
    table = res.table()
    assert set(table.df["state"]) == {"ok"}
    lin = table.df[table.df.candidate == "linear"]["test_r2"].mean()
    dummy = table.df[table.df.candidate == "dummy"]["test_r2"].mean()
    assert lin > 0.3 > dummy  # ridge explains diabetes progression, the mean does not
    # results.csv is the tidy export with the promised columns
    csv = pd.read_csv(tmp_path / "r" / "results.csv")
    for col in ("task", "candidate", "fold", "state", "n_trials", "fit_seconds", "test_rmse", "test_mae", "test_r2"):
        assert col in csv.columns
    assert len(csv) == 4


class _Interrupt(Exception):
    pass


def test_resume_after_interruption_repeats_nothing_and_matches_uninterrupted(tmp_path, monkeypatch):
    import benchmark.run.driver as runner_mod
    from benchmark.run.executors import make_executor as real_make

    suite = _suite(FAST, trials=2, folds=3, inner=2)
    full = run_suite(suite, out=tmp_path / "full", progress=False)

    class StopAfter:
        def __init__(self, inner, n):
            self.inner, self.n = inner, n

        def run(self, jobs, *fn):
            for i, rec in enumerate(self.inner.run(jobs, *fn)):
                yield rec
                if i + 1 == self.n:
                    raise KeyboardInterrupt

        def close(self, **kw):
            self.inner.close()

    monkeypatch.setattr(runner_mod, "make_executor", lambda jobs, tasks, **kw: StopAfter(real_make(jobs, tasks, **kw), 5))
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out=tmp_path / "part", progress=False)
    first = (tmp_path / "part" / "records.jsonl").read_bytes()
    assert len(first.splitlines()) == 5
    monkeypatch.setattr(runner_mod, "make_executor", real_make)

    # a half-written last line (killed mid-write) is dropped on resume
    with open(tmp_path / "part" / "records.jsonl", "ab") as fh:
        fh.write(b'{"type": "job", "key": "iris')
    res = run_suite(suite, out=tmp_path / "part", resume=True, progress=False)
    assert res.n_done_before == 5
    after = (tmp_path / "part" / "records.jsonl").read_bytes()
    assert after.startswith(first), "completed records must be kept byte for byte"
    keys = [r["key"] for r in _records(tmp_path / "part")]
    assert len(keys) == len(set(keys)) == len(FAST) * 3

    def scores(d):
        return {r["key"]: (r["test_accuracy"], r["best_params"]) for r in _records(d)}

    assert scores(tmp_path / "part") == scores(full.run_dir)

    # resuming a finished run runs nothing
    again = run_suite(suite, out=tmp_path / "part", resume=True, progress=False)
    assert again.n_done_before == again.n_jobs


def test_resume_refuses_a_changed_suite(tmp_path):
    from benchmark.errors import IncompatibleRunError

    run_suite(_suite(["dummy"], trials=1, folds=2), out=tmp_path / "r", progress=False)
    with pytest.raises(IncompatibleRunError, match="suite.trials: 1 → 2"):
        run_suite(_suite(["dummy"], trials=2, folds=2), out=tmp_path / "r", resume=True, progress=False)


def test_failed_fit_is_recorded_and_run_goes_on(tmp_path):
    # fixed parameters that each pass the declared constraints (an n_neighbors of -1 is refused up
    # front since issue 13) but do not go together make every fit raise; the other candidate still runs
    suite = _suite(["linear", {"name": "broken", "base": "knn", "params": {"algorithm": "kd_tree", "metric": "cosine"}}], trials=2, folds=2)
    res = run_suite(suite, out=tmp_path / "r", progress=False)
    write_report(res.run_dir)
    recs = {(r["candidate"], r["fold"]): r for r in _records(tmp_path / "r")}
    assert res.n_failed == 2
    assert all(recs[("broken", f)]["state"] == "failed" and "cosine" in recs[("broken", f)]["error"] for f in (0, 1))
    assert all(recs[("linear", f)]["state"] == "ok" for f in (0, 1))
    assert "cosine" in (tmp_path / "r" / "report.html").read_text()


def test_job_keys_are_unique_per_task_candidate_fold():
    assert job_id("a", "b", 1) != job_id("a", "b", 2) != job_id("a|b", "", 2)
    assert json.dumps(job_id("t", "c", 0))
    assert np.isfinite(1.0)


def test_model_seed_changes_models_but_not_splits(tmp_path):
    a = run_suite(_suite(["random_forest"], trials=2, folds=2, model_seed=1), out=tmp_path / "a", progress=False)
    b = run_suite(_suite(["random_forest"], trials=2, folds=2, model_seed=2), out=tmp_path / "b", progress=False)
    ra, rb = _records(a.run_dir), _records(b.run_dir)
    assert [r["split_hash"] for r in ra] == [r["split_hash"] for r in rb]
    assert [r["fold_hash"] for r in ra] == [r["fold_hash"] for r in rb]
    assert [r["seed"] for r in ra] != [r["seed"] for r in rb]
    assert [r["trials"][1]["params"] for r in ra] != [r["trials"][1]["params"] for r in rb]  # the sampler follows model_seed
