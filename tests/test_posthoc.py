"""Post-hoc ensemble selection over the tuning trials, and base-model fit counts (issue #3)."""

import json
import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, roc_auc_score

from benchmark.candidates import build_estimator
from benchmark.config import parse_suite
from benchmark.data.loaders import load_dataset
from benchmark.errors import InputError
from benchmark.results.store import Store, load_oof, oof_path
from benchmark.run.driver import run_suite
from benchmark.run.worker import schema_of
from benchmark.splits import make_plan

warnings.filterwarnings("ignore")

SUITE = {
    "name": "es",
    "tasks": [{"dataset": "breast_cancer", "max_rows": 240}, {"dataset": "diabetes", "max_rows": 240}],
    "candidates": ["linear", "knn", {"name": "gb", "base": "hist_gb", "params": {"max_iter": 30}}, {"name": "ens", "base": "ensemble_selection", "params": {"rounds": 10}}],
    "metric": {"classification": "roc_auc", "regression": "rmse"},
    "trials": 3, "folds": 2, "inner": 2, "seed": 0, "learning_curve": False,
}


@pytest.fixture(scope="module")
def es_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("es") / "run"
    run_suite(parse_suite(SUITE), out=out, jobs=1, progress=False)
    return out


def _jobs(run_dir):
    return [r for r in Store(run_dir).records() if r["type"] == "job"]


def test_selection_never_scores_worse_than_its_best_single_member(es_run):
    ens = [r for r in _jobs(es_run) if r["candidate"] == "ens"]
    assert len(ens) == 4 and all(r["state"] == "ok" for r in ens)
    for r in ens:
        e = r["ensemble"]
        sign = 1 if r["metric"] == "roc_auc" else -1
        assert sign * e["val_score"] >= sign * e["best_single"]["score"] - 1e-12
        assert e["library"] == {"linear": 3, "knn": 3, "gb": 3} and e["library_size"] == 9
        assert abs(sum(m["weight"] for m in e["members"]) - 1) < 1e-9
        assert r["post_hoc"] and r["n_trials"] == 0 and r["n_fits"] == len(e["members"])


def _task_and_plan(name):
    task = load_dataset(name, max_rows=240, seed=0)
    plan = make_plan(task.y, classification=task.kind != "regression", folds=2, inner=2, seed=0)
    return task, plan


def test_out_of_fold_predictions_come_from_inner_splits_of_the_outer_training_rows(es_run):
    """Recompute linear's trial-0 predictions by hand: each inner split's model predicts its validation rows."""
    task, plan = _task_and_plan("breast_cancer")
    schema = schema_of(task)
    rec = next(r for r in _jobs(es_run) if r["candidate"] == "linear" and r["task"] == "breast_cancer" and r["fold"] == 1)
    numbers, preds = load_oof(oof_path(es_run, "breast_cancer", "linear", 1))
    fold = plan.folds[1]
    assert preds.shape == (len(numbers), len(fold.train), 2)  # outer-training rows only
    Xtr, ytr = task.X.iloc[fold.train], task.y[fold.train]
    expected = np.full((len(fold.train), 2), np.nan)
    cfg = parse_suite(SUITE).candidates[0]
    for fit_idx, val_idx in fold.inner:
        est = build_estimator(cfg, schema, rec["trials"][0]["params"], seed=rec["seed"]).fit(Xtr.iloc[fit_idx], ytr[fit_idx])
        expected[val_idx] = est.predict_proba(Xtr.iloc[val_idx])
    np.testing.assert_allclose(preds[list(numbers).index(0)], expected, rtol=1e-10)


@pytest.mark.parametrize("task_name", ["breast_cancer", "diabetes"])
def test_ensemble_test_score_matches_an_independent_refit(es_run, task_name):
    """Refit the chosen members with the stored weights and score with scikit-learn directly."""
    task, plan = _task_and_plan(task_name)
    schema = schema_of(task)
    configs = {c.name: c for c in parse_suite(SUITE).candidates}
    for rec in (r for r in _jobs(es_run) if r["candidate"] == "ens" and r["task"] == task_name):
        fold = plan.folds[rec["fold"]]
        pred = 0.0
        for m in rec["ensemble"]["members"]:
            est = build_estimator(configs[m["candidate"]], schema, m["params"], seed=rec["seed"])
            est.fit(task.X.iloc[fold.train], task.y[fold.train])
            Xte = task.X.iloc[fold.test]
            pred = pred + m["weight"] * (est.predict_proba(Xte)[:, 1] if schema.is_classification else est.predict(Xte))
        yte = task.y[fold.test]
        if schema.is_classification:
            assert rec["test_roc_auc"] == pytest.approx(roc_auc_score(yte, pred), abs=1e-12)
        else:
            assert rec["test_rmse"] == pytest.approx(mean_squared_error(yte, pred) ** 0.5, rel=1e-10)


def test_resume_rebuilds_the_same_ensembles_from_saved_predictions(es_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(es_run, copy)
    lines = (copy / "records.jsonl").read_text().splitlines(keepends=True)
    base = [ln for ln in lines if json.loads(ln).get("candidate") != "ens"]
    (copy / "records.jsonl").write_text("".join(base))  # as if killed after the base jobs
    res = run_suite(parse_suite(SUITE), out=copy, resume=True, progress=False)
    assert res.n_done_before == len(base)
    again = {(r["task"], r["fold"]): r for r in _jobs(copy) if r["candidate"] == "ens"}
    for r in (r for r in _jobs(es_run) if r["candidate"] == "ens"):
        other = again[(r["task"], r["fold"])]
        assert other["ensemble"]["members"] == r["ensemble"]["members"]
        assert other[f"test_{r['metric']}"] == r[f"test_{r['metric']}"]
    assert len(_jobs(copy)) == len(_jobs(es_run))  # nothing repeated


def _same_results(run_dir, reference):
    from benchmark.results.records import latest_jobs

    ref = {r["key"]: r for r in latest_jobs(_jobs(reference))}
    got = {r["key"]: r for r in latest_jobs(_jobs(run_dir))}
    assert set(got) == set(ref) and all(r["state"] == "ok" for r in got.values())
    for key, r in ref.items():
        assert got[key][f"test_{r['metric']}"] == r[f"test_{r['metric']}"], key
        if r["candidate"] == "ens":
            assert got[key]["ensemble"]["members"] == r["ensemble"]["members"]
        else:
            assert [t["value"] for t in got[key]["trials"]] == [t["value"] for t in r["trials"]]


@pytest.mark.parametrize("ens_records", ["none", "failed empty library"])
def test_lost_predictions_are_recomputed_on_resume(es_run, tmp_path, ens_records):
    """oof/ deleted, then killed after the base jobs (no ensemble records); or a run stored before
    the fix whose ensembles failed with "empty library" after knn's predictions were lost. Resume
    reruns the base jobs whose predictions are gone and gives the uninterrupted run's results."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(es_run, copy)
    for path in (copy / "oof").rglob("*.npz"):
        if ens_records == "none" or path.name.startswith("knn"):
            path.unlink()
    lines = [json.loads(ln) for ln in (copy / "records.jsonl").read_text().splitlines()]
    kept = [r for r in lines if r.get("candidate") != "ens"]
    if ens_records != "none":  # what the code before the fix stored
        kept += [{**r, "state": "failed", "error_kind": "model", "error": "RuntimeError: empty library: no library candidate completed"}
                 for r in lines if r.get("candidate") == "ens"]
    (copy / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    res = run_suite(parse_suite(SUITE), out=copy, resume=True, progress=False)
    assert res.n_failed == 0
    rerun = [r["candidate"] for r in _jobs(copy)[len(kept):] if r["candidate"] != "ens"]
    assert sorted(rerun) == sorted(["linear", "knn", "gb"] * 4 if ens_records == "none" else ["knn"] * 4)
    _same_results(copy, es_run)
    assert sorted(p.name for p in (copy / "oof").rglob("*.npz")) == sorted(p.name for p in (es_run / "oof").rglob("*.npz"))
    again = run_suite(parse_suite(SUITE), out=copy, resume=True, progress=False)  # nothing left to do
    assert again.n_done_before == again.n_jobs


def test_lost_predictions_that_cannot_be_recomputed_are_a_retryable_record(es_run, tmp_path):
    import dataclasses

    from benchmark.run.driver import expand_selection_jobs, load_tasks, make_plans, settled_post_hoc
    from benchmark.run.ensembles import run_selection_job

    suite = parse_suite(SUITE)
    tasks = load_tasks(suite)
    plans = make_plans(suite, tasks)
    store = Store(es_run)
    job = expand_selection_jobs(suite, tasks, plans, store, in_memory=False, n_threads=1)[0]
    assert job.lost == ()
    rec = run_selection_job(dataclasses.replace(job, lost=("knn",)))
    assert rec["state"] == "failed" and rec["error_kind"] == "infrastructure" and rec["post_hoc"]
    assert "knn" in rec["error"] and "--resume" in rec["error"]
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(es_run, copy)
    Store(copy).append(rec)
    assert rec["key"] not in settled_post_hoc(suite, plans, Store(copy))  # the next resume runs it again
    assert len(settled_post_hoc(suite, plans, Store(copy))) == 3


def test_selection_with_an_empty_library_is_a_failed_record_not_a_crash(tmp_path):
    raw = {**SUITE, "tasks": [{"dataset": "iris"}], "candidates": [{"name": "bad", "base": "fault", "params": {"mode": "raise"}}, "ensemble_selection"]}
    res = run_suite(parse_suite(raw), out=tmp_path / "r", progress=False)
    ens = [r for r in _jobs(res.run_dir) if r["candidate"] == "ensemble_selection"]
    assert len(ens) == 2 and all(r["state"] == "failed" and "empty library" in r["error"] for r in ens)


@pytest.mark.parametrize("params,field", [
    ({"library": ["linear", "nope"]}, "params.library"),
    ({"library": ["ensemble_selection"]}, "params.library"),
    ({"rounds": 0}, "params.rounds"),
    ({"members": ["linear"]}, "candidates[1]"),
])
def test_bad_ensemble_selection_params_are_refused_up_front(params, field, tmp_path):
    raw = {**SUITE, "tasks": [{"dataset": "iris"}], "candidates": ["linear", {"name": "ensemble_selection", "params": params}]}
    with pytest.raises(InputError) as err:
        run_suite(parse_suite(raw), out=tmp_path / "r", progress=False)
    assert field in str(err.value)
    assert not (tmp_path / "r").exists()


def test_n_base_fits_counts_every_base_model(tmp_path):
    """bagging with k trees, 1 trial, 2 inner folds: k fits per inner split plus k for the refit;
    stacking with m members and cv c: m × (c + 1) + 1 per fit; a single model: one per fit."""
    raw = {"name": "nb", "tasks": [{"dataset": "iris"}], "trials": 1, "folds": 2, "inner": 2, "learning_curve": False,
           "candidates": [{"name": "bag", "base": "bagging", "params": {"n_estimators": 7}},
                          {"name": "stack", "base": "stacking", "params": {"members": ["linear", "knn"], "cv": 3}},
                          "knn"]}
    res = run_suite(parse_suite(raw), out=tmp_path / "r", progress=False)
    fits = {r["candidate"]: r["n_base_fits"] for r in _jobs(res.run_dir) if r["fold"] == 0}
    assert fits == {"bag": 7 * 3, "stack": (2 * 4 + 1) * 3, "knn": 3}


def test_compare_offers_ensemble_selection_for_classification_and_regression():
    from benchmark import compare
    from benchmark.testing import make_frame

    X = make_frame(200, 1)
    signal = X["x1"].fillna(0).to_numpy()
    for y, metric in (((signal > 0).astype(int), "roc_auc"), (signal * 3 + np.random.default_rng(0).normal(size=200), "rmse")):
        res = compare(X, y, candidates=["linear", "knn", "ensemble_selection"], trials=2, folds=2, learning_curve=False)
        ens = res.results[res.results.candidate == "ensemble_selection"]
        assert len(ens) == 2 and set(ens.state) == {"ok"}
        assert np.isfinite(ens[f"test_{metric}"]).all()

