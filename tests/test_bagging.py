"""``final: bag``: test scores from the inner-fold models, stored test predictions, views with no fit (issue #15)."""

import json
import shutil
import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, roc_auc_score

import benchmark.candidates as candidates_pkg
import benchmark.run.tuning as tuning_mod
import benchmark.run.worker as worker_mod
from benchmark.candidates import build_estimator
from benchmark.candidates.outputs import predict_output
from benchmark.config import parse_suite
from benchmark.data.loaders import load_dataset
from benchmark.errors import InputError
from benchmark.report import curves
from benchmark.report.analysis import analyse
from benchmark.results.store import Store, bagged_path, load_bagged, lost_bagged
from benchmark.results.table import ResultTable
from benchmark.run.driver import run_suite
from benchmark.run.worker import schema_of
from benchmark.splits import make_plan

warnings.filterwarnings("ignore")

ROWS = 120
SUITE = {
    "name": "bag",
    "tasks": [{"dataset": "breast_cancer", "max_rows": ROWS}, {"dataset": "diabetes", "max_rows": ROWS}],
    "candidates": ["dummy", "linear", "knn", {"name": "ens", "base": "ensemble_selection", "params": {"rounds": 5}}],
    "metric": {"classification": "roc_auc", "regression": "rmse"},
    "trials": 3, "folds": 2, "inner": 2, "seed": 0, "learning_curve": False, "final": "bag",
}
SCORE = {"roc_auc": lambda y, p: roc_auc_score(y, p[:, 1]), "rmse": lambda y, p: float(np.sqrt(mean_squared_error(y, p)))}


class FitCounter:
    """Counts every model fit, by where its estimator was built (tuning, or anywhere else: a refit)."""

    def __init__(self, monkeypatch):
        self.tuning = 0
        self.other = 0

        def counting(field):
            def build(*args, **kwargs):
                est = build_estimator(*args, **kwargs)
                fit = est.fit

                def counted_fit(*a, **k):
                    setattr(self, field, getattr(self, field) + 1)
                    return fit(*a, **k)

                est.fit = counted_fit
                return est
            return build

        monkeypatch.setattr(tuning_mod, "build_estimator", counting("tuning"))
        monkeypatch.setattr(worker_mod, "build_estimator", counting("other"))
        monkeypatch.setattr(candidates_pkg, "build_estimator", counting("other"))


@pytest.fixture(scope="module")
def bag_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bag") / "run"
    mp = pytest.MonkeyPatch()
    counter = FitCounter(mp)
    try:
        res = run_suite(parse_suite(SUITE), out=out, jobs=1, progress=False)
    finally:
        mp.undo()
    return out, res, counter


def _jobs(run_dir):
    return [r for r in Store(run_dir).records() if r["type"] == "job"]


def _task_and_plan(name):
    task = load_dataset(name, max_rows=ROWS, seed=0)
    plan = make_plan(task.y, classification=task.kind != "regression", folds=2, inner=2, seed=0)
    return task, plan


def test_bag_test_score_is_the_average_of_the_inner_models_test_predictions(bag_run):
    """Refit nothing: fit the chosen configuration on each inner split by hand, average its outer-test predictions."""
    run_dir, _, _ = bag_run
    recs = {(r["task"], r["candidate"], r["fold"]): r for r in _jobs(run_dir)}
    cand = parse_suite(SUITE).candidates[1]  # linear
    for name, metric in (("breast_cancer", "roc_auc"), ("diabetes", "rmse")):
        task, plan = _task_and_plan(name)
        schema = schema_of(task)
        for fold in plan.folds:
            rec = recs[(name, "linear", fold.index)]
            assert rec["state"] == "ok" and rec["final"] == "bag"
            Xtr, ytr = task.X.iloc[fold.train], task.y[fold.train]
            preds = []
            for fit_idx, _ in fold.inner:
                est = build_estimator(cand, schema, rec["best_params"], seed=fold.index, n_threads=1)
                est.fit(Xtr.iloc[fit_idx], ytr[fit_idx])
                preds.append(np.asarray(predict_output(est, task.X.iloc[fold.test], schema), dtype=float))
            mine = np.mean(preds, axis=0).astype(np.float32).astype(float)
            assert rec[f"test_{metric}"] == pytest.approx(SCORE[metric](task.y[fold.test], mine), abs=1e-9)
            numbers, stored = load_bagged(run_dir, name, "linear", fold.index)
            assert np.allclose(stored[list(numbers).index(rec["best_trial"])], mine, atol=1e-6)
            assert stored.dtype == np.float32 and stored.shape[0] == rec["n_trials"]


def test_bag_makes_no_refit(bag_run):
    run_dir, _, counter = bag_run
    jobs = _jobs(run_dir)
    tuning_fits = sum(len(t["fold_values"]) for r in jobs for t in r.get("trials") or [])
    assert counter.tuning == tuning_fits > 0
    assert counter.other == 0  # no final refit, no budget-curve refit, no ensemble-member refit
    base = [r for r in jobs if not r.get("post_hoc")]
    assert all(r["n_fits"] == sum(len(t["fold_values"]) for t in r["trials"]) for r in base)  # fits counted as in refit, minus the refit
    assert all(r["fits_saved"] >= 1 for r in base)
    ens = [r for r in jobs if r.get("post_hoc")]
    assert ens and all(r["n_fits"] == 0 and r["fits_saved"] == len(r["ensemble"]["members"]) for r in ens)


def _chosen(trials, gib, order):
    """The trial the tuner would pick after each prefix of ``order``: best inner score, ties to the earlier."""
    out, best = [], None
    for j in order:
        t = trials[j]
        if t["state"] == "ok" and (best is None or (t["value"] > best["value"] if gib else t["value"] < best["value"])):
            best = t
        out.append(best)
    return out


def test_every_derived_view_equals_a_recomputation_from_the_stored_arrays(bag_run):
    run_dir, _, _ = bag_run
    jobs = _jobs(run_dir)
    metrics = {"breast_cancer": "roc_auc", "diabetes": "rmse"}
    ys = {name: _task_and_plan(name) for name in metrics}
    stored_test = {}
    for r in (r for r in jobs if not r.get("post_hoc")):
        task, plan = ys[r["task"]]
        yt = task.y[plan.folds[r["fold"]].test]
        m = metrics[r["task"]]
        numbers, preds = load_bagged(run_dir, r["task"], r["candidate"], r["fold"])
        by_number = {int(n): p.astype(float) for n, p in zip(numbers, preds, strict=True)}
        score = {n: SCORE[m](yt, p) for n, p in by_number.items()}
        stored_test[(r["task"], r["candidate"], r["fold"])] = by_number
        trials = sorted(r["trials"], key=lambda t: t["number"])
        for t in trials:  # each trial's test score (default = trial 0)
            assert t["test"][m] == pytest.approx(score[t["number"]], abs=1e-9)
        assert r[f"test_{m}"] == pytest.approx(score[r["best_trial"]], abs=1e-9)  # tuned
        gib = m == "roc_auc"
        picks = _chosen(trials, gib, range(len(trials)))  # budget curve at every trial count
        assert [p["trials"] for p in r["budget_curve"]] == list(range(1, len(trials) + 1))
        for p, pick in zip(r["budget_curve"], picks, strict=True):
            assert p["test"][m] == pytest.approx(score[pick["number"]], abs=1e-9)
        te = r["tuned_ensembled"]  # tuned + ensembled: the selection weights applied to the stored predictions
        blend = sum(w * by_number[int(n)] for n, w in te["weights"].items())
        assert te["test"][m] == pytest.approx(SCORE[m](yt, blend), abs=1e-9)
        assert sum(te["weights"].values()) == pytest.approx(1.0)
    for r in (r for r in jobs if r.get("post_hoc")):  # ensemble_selection scored on stored predictions
        task, plan = ys[r["task"]]
        m = metrics[r["task"]]
        blend = sum(mem["weight"] * stored_test[(r["task"], mem["candidate"], r["fold"])][mem["trial"]] for mem in r["ensemble"]["members"])
        assert r[f"test_{m}"] == pytest.approx(SCORE[m](task.y[plan.folds[r["fold"]].test], blend), abs=1e-9)
    # test score over 20 random trial orders: per order the mean over folds, then mean and band over orders
    view = curves.shuffled_test_curves(jobs, metrics)
    for (task_name, cand), grp in view.groupby(["task", "candidate"]):
        m = metrics[task_name]
        task, plan = ys[task_name]
        per_fold = []
        for r in (r for r in jobs if r["task"] == task_name and r["candidate"] == cand):
            trials = sorted(r["trials"], key=lambda t: t["number"])
            yt = task.y[plan.folds[r["fold"]].test]
            rng = np.random.default_rng(r["fold"])
            per_fold.append([[SCORE[m](yt, stored_test[(task_name, cand, r["fold"])][p["number"]]) for p in _chosen(trials, m == "roc_auc", rng.permutation(len(trials)))]
                             for _ in range(20)])
        by_order = np.mean(np.asarray(per_fold), axis=0)  # orders × trials
        assert np.allclose(grp.sort_values("trial")["mean"], by_order.mean(axis=0), atol=1e-9)
        assert np.allclose(grp.sort_values("trial")["lo"], np.percentile(by_order, 10, axis=0), atol=1e-9)
        assert np.allclose(grp.sort_values("trial")["hi"], np.percentile(by_order, 90, axis=0), atol=1e-9)
    # default / tuned / tuned + ensembled per candidate
    vs = curves.variant_scores(jobs, metrics).set_index(["task", "candidate", "variant"])["mean"]
    for task_name, m in metrics.items():
        task, plan = ys[task_name]
        for cand in ("linear", "knn"):
            folds = [r for r in jobs if r["task"] == task_name and r["candidate"] == cand]
            default = np.mean([SCORE[m](task.y[plan.folds[r["fold"]].test], stored_test[(task_name, cand, r["fold"])][0]) for r in folds])
            tuned = np.mean([SCORE[m](task.y[plan.folds[r["fold"]].test], stored_test[(task_name, cand, r["fold"])][r["best_trial"]]) for r in folds])
            assert vs[(task_name, cand, "default")] == pytest.approx(default, abs=1e-9)
            assert vs[(task_name, cand, "tuned")] == pytest.approx(tuned, abs=1e-9)


def test_budget_table_full_budget_column_equals_the_leaderboard_with_ensemble_selection(bag_run):
    run_dir, _, _ = bag_run
    store = Store(run_dir)
    records = list(store.records())
    a = analyse(ResultTable.from_run(run_dir), store.read_manifest(), records)
    piv = a.budget_rank_table
    assert "ens" in piv.index and set(piv.index) == set(a.candidates)
    full = piv[piv.columns[-1]]
    ranks = a.mean_ranks()
    assert {c: pytest.approx(v) for c, v in ranks.items()} == full.to_dict()
    assert full["ens"] < len(a.candidates)  # no longer ranked last for lacking a budget curve
    assert a.audit.fits_saved > 0 and a.audit.final == "bag"


def test_resume_repeats_nothing_and_lost_bagged_are_retried(bag_run, tmp_path, monkeypatch):
    run_dir, _, _ = bag_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    n_before = len(_jobs(copy))
    res = run_suite(parse_suite(SUITE), out=copy, jobs=1, progress=False, resume=True)
    assert res.n_run == 0 and len(_jobs(copy)) == n_before
    rec = next(r for r in _jobs(copy) if r["candidate"] == "knn")
    bagged_path(copy, rec["task"], "knn", rec["fold"]).unlink()
    assert lost_bagged(copy, _jobs(copy)) == [rec["key"]]
    counter = FitCounter(monkeypatch)
    res = run_suite(parse_suite(SUITE), out=copy, jobs=1, progress=False, resume=True)
    assert res.n_run == 1 and res.n_failed == 0 and counter.tuning == sum(len(t["fold_values"]) for t in rec["trials"])
    latest = [r for r in _jobs(copy) if r["key"] == rec["key"]][-1]
    assert latest["state"] == "ok" and latest["test_" + rec["metric"]] == rec["test_" + rec["metric"]]
    assert load_bagged(copy, rec["task"], "knn", rec["fold"]) is not None


def test_final_is_validated_and_refit_keeps_old_hashes():
    base = {k: v for k, v in SUITE.items() if k != "final"}
    with pytest.raises(InputError, match="final: must be one of refit, bag"):
        parse_suite({**base, "final": "bagging"})
    assert parse_suite(base).final == "refit"
    assert parse_suite({**base, "final": "refit"}).hash() == parse_suite(base).hash()
    assert parse_suite({**base, "final": "bag"}).hash() != parse_suite(base).hash()
    assert json.loads(json.dumps(parse_suite({**base, "final": "bag"}).to_dict()))["final"] == "bag"


def test_budget_ranks_hold_post_hoc_candidates_at_their_final_score():
    """Records only (any final): a post-hoc ensemble without a budget curve is ranked at every budget
    by its job's score, so the full budget equals the leaderboard's ranking."""
    def job(task, cand, fold, final, curve=None, post_hoc=False):
        r = {"type": "job", "task": task, "candidate": cand, "fold": fold, "state": "ok", "test_roc_auc": final, "post_hoc": post_hoc}
        if curve is not None:
            r["budget_curve"] = [{"trials": b, "trial_number": 0, "test": {"roc_auc": v}} for b, v in curve]
        return r

    records = []
    for task, (a, b, e) in {"t1": (0.80, 0.70, 0.90), "t2": (0.60, 0.75, 0.85)}.items():
        for fold in (0, 1):
            records += [job(task, "a", fold, a, [(1, a - 0.15), (2, a)]), job(task, "b", fold, b, [(1, b), (2, b)]),
                        job(task, "ens", fold, e, post_hoc=True)]
    br = curves.budget_ranks(records, {"t1": "roc_auc", "t2": "roc_auc"}, ["a", "b", "ens"])
    full = br[br["budget"] == 2].set_index("candidate")["mean_rank"].to_dict()
    assert full == {"ens": 1.0, "a": 2.5, "b": 2.5}
    assert br[br["budget"] == 1].set_index("candidate")["mean_rank"].to_dict() == {"ens": 1.0, "a": 3.0, "b": 2.0}
    assert curves.checkpoints(range(1, 38)) == [1, 2, 5, 10, 20, 37]


def test_bench_run_resume_of_a_finished_run_leaves_the_report_alone(tmp_path, capsys):
    from benchmark.cli import main

    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nfolds: 2\ninner: 2\ntrials: 2\nfinal: bag\nlearning_curve: false\nbudget_curve: false\n"
                     "tasks: [{dataset: iris}]\ncandidates: [dummy, linear]\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(suite), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    report = out / "report.html"
    stamp, n = report.stat().st_mtime_ns, len(_jobs(out))
    capsys.readouterr()
    assert main(["run", str(suite), "--out", str(out), "--jobs", "1", "--no-progress", "--resume"]) == 0
    text = capsys.readouterr().out
    assert "(4 resumed, 0 run, 0 failed)" in text and "unchanged" in text
    assert report.stat().st_mtime_ns == stamp and len(_jobs(out)) == n
