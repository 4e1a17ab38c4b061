"""Learning and tuning curves: the subsamples, the checkpoints, the worker's records, the tidy frames."""

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.config import DEFAULT_LEARNING_CURVE, parse_suite
from benchmark.errors import InputError
from benchmark.report import curves as report_curves
from benchmark.results.store import Store
from benchmark.results.table import ResultTable
from benchmark.run import curves
from benchmark.run.driver import run_suite

# ---------------------------------------------------------------------------------------------
# subsamples and checkpoints


def test_learning_subsamples_are_nested_stratified_and_seeded():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    prev: set[int] = set()
    for f in (0.2, 0.4, 0.7, 1.0):
        rows = curves.learning_subsample(y, f, seed=7, classification=True)
        assert prev <= set(rows), "a smaller subsample must lie inside the larger one"
        prev = set(rows)
        counts = np.bincount(y[rows], minlength=3)
        assert list(counts) == [round(f * 60), round(f * 30), round(f * 10)]
    assert np.array_equal(curves.learning_subsample(y, 0.4, seed=7, classification=True),
                          curves.learning_subsample(y, 0.4, seed=7, classification=True))
    assert not np.array_equal(curves.learning_subsample(y, 0.4, seed=7, classification=True),
                              curves.learning_subsample(y, 0.4, seed=8, classification=True))
    assert len(curves.learning_subsample(y, 1.0, seed=0, classification=True)) == 100


def test_a_fraction_too_small_for_a_class_is_refused_not_fitted():
    y = np.array([0] * 95 + [1] * 5)
    with pytest.raises(curves.TooSmall, match="class 1"):
        curves.learning_subsample(y, 0.1, seed=0, classification=True)
    with pytest.raises(curves.TooSmall):
        curves.learning_subsample(np.arange(20.0), 0.1, seed=0, classification=False)
    assert len(curves.learning_subsample(np.arange(200.0), 0.1, seed=0, classification=False)) == 20


@pytest.mark.parametrize(("n", "expected"), [
    (1, [1]), (2, [1, 2]), (5, [1, 2, 5]), (7, [1, 2, 5, 7]), (30, [1, 2, 5, 10, 20, 30]),
    (100, [1, 2, 5, 10, 20, 50, 100]), (0, []),
])
def test_budget_checkpoints(n, expected):
    assert curves.budget_checkpoints(n) == expected


def test_best_so_far_follows_the_tuner_rule():
    trials = [{"number": 0, "value": 0.8, "state": "ok"}, {"number": 1, "value": None, "state": "failed"},
              {"number": 2, "value": 0.9, "state": "ok"}, {"number": 3, "value": 0.9, "state": "ok"},
              {"number": 4, "value": 0.7, "state": "ok"}]
    assert curves.best_so_far_numbers(trials, True) == [0, 0, 2, 2, 2]  # ties go to the earlier trial
    assert curves.best_so_far_numbers(trials, False) == [0, 0, 0, 0, 4]
    assert curves.best_so_far_numbers([{"number": 0, "value": None, "state": "failed"}], True) == [None]
    run = report_curves.best_so_far([None, 3.0, 2.0, 5.0], True)
    assert math.isnan(run[0]) and list(run[1:]) == [3.0, 3.0, 5.0]
    assert list(report_curves.best_so_far([3.0, 2.0, 5.0], False)) == [3.0, 2.0, 2.0]


def test_shuffled_curve_is_monotone_and_ends_at_the_best():
    vals = [0.5, 0.9, 0.7, 0.6, 0.8]
    sh = report_curves.shuffled_best_so_far(vals, True, n_shuffles=200, seed=1)
    assert np.all(np.diff(sh) >= -1e-12) and sh[-1] == pytest.approx(0.9)
    assert sh[0] == pytest.approx(np.mean(vals), abs=0.03)  # one random trial: the mean, in expectation
    low = report_curves.shuffled_best_so_far(vals, False, n_shuffles=50, seed=1)
    assert low[-1] == pytest.approx(0.5) and np.all(np.diff(low) <= 1e-12)


# ---------------------------------------------------------------------------------------------
# the suite field


def test_learning_curve_field_validation():
    base = {"tasks": ["iris"], "candidates": ["dummy"]}
    assert parse_suite(base).learning_curve == DEFAULT_LEARNING_CURVE
    assert parse_suite({**base, "learning_curve": False}).learning_curve == ()
    assert parse_suite({**base, "learning_curve": []}).learning_curve == ()
    assert parse_suite({**base, "learning_curve": [0.25, 0.5]}).learning_curve == (0.25, 0.5, 1.0)
    for bad, match in (([0.5, 0.25], "increasing order"), ([0.2, 0.2], "repeats"), ([0.0, 0.5], r"\(0, 1\]"),
                       ([1.5], r"\(0, 1\]"), ("half", "list of training fractions"), (["a"], "finite number")):
        with pytest.raises(InputError, match=match) as err:
            parse_suite({**base, "learning_curve": bad})
        assert "learning_curve" in str(err.value)
    with pytest.raises(InputError, match="true or false"):
        parse_suite({**base, "budget_curve": "yes"})
    assert parse_suite({**base, "budget_curve": False}).budget_curve is False


# ---------------------------------------------------------------------------------------------
# the worker's records (a tiny real run)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    raw = {"name": "curves", "tasks": [{"dataset": "iris"}, {"dataset": "diabetes"}],
           "candidates": ["dummy", "linear", {"name": "knn30", "base": "knn", "params": {"n_neighbors": 30, "weights": "distance"}}],
           "trials": 4, "folds": 3, "inner": 2, "learning_curve": [0.1, 0.3, 0.6]}
    out = tmp_path_factory.mktemp("runs") / "curves"
    run_suite(parse_suite(raw), out=out, progress=False)
    return out


def _jobs(run_dir):
    return [r for r in Store(run_dir).records() if r["type"] == "job"]


def test_records_carry_learning_and_budget_curves(run):
    for r in _jobs(run):
        assert r["state"] == "ok"
        fr = [p["fraction"] for p in r["learning_curve"]]
        assert fr == [0.1, 0.3, 0.6, 1.0]
        full = r["learning_curve"][-1]
        assert full["n_train"] == r["n_train"]
        assert full["test"] == {k[5:]: v for k, v in r.items() if k.startswith("test_") and k[5:] in full["test"]}
        sizes = [p["n_train"] for p in r["learning_curve"]]
        assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
        bc = r["budget_curve"]
        assert [p["trials"] for p in bc] == curves.budget_checkpoints(r["n_trials"])
        assert bc[0]["trial_number"] == 0, "after one trial the tuner has only the defaults"
        assert bc[-1]["trial_number"] == r["best_trial"]
        m = r["metric"]
        assert bc[-1]["test"][m] == r[f"test_{m}"], "the full-budget point is the job's own score"
        assert r["curve_fits"] >= 3 and r["curve_seconds"] > 0


def test_a_failing_curve_fit_is_recorded_and_the_job_goes_on(run):
    # k = 30 neighbours cannot be fitted on 10 % of ~100 iris training rows
    knn = [r for r in _jobs(run) if r["candidate"] == "knn30" and r["task"] == "iris"]
    assert knn and all(r["state"] == "ok" for r in knn)
    first = knn[0]["learning_curve"][0]
    assert first["fraction"] == 0.1 and "n_neighbors" in first["error"] and "test" not in first
    lc = report_curves.learning_curves(_jobs(run), {"iris": "roc_auc"})
    row = lc[(lc.candidate == "knn30") & (lc.fraction == 0.1)].iloc[0]
    n_errors = sum(1 for r in knn if r["learning_curve"][0].get("error"))
    assert row["n_failed"] == n_errors >= 1 and row["n_folds"] == 3 - n_errors


def test_learning_curve_point_equals_an_independent_refit(run):
    from benchmark.candidates import build_estimator
    from benchmark.candidates.outputs import predict_output
    from benchmark.config import TaskConfig
    from benchmark.data.resolve import load_task
    from benchmark.metrics import score_all
    from benchmark.run.records import fold_hash
    from benchmark.run.worker import schema_of
    from benchmark.splits import make_plan

    rec = next(r for r in _jobs(run) if r["task"] == "iris" and r["candidate"] == "linear" and r["fold"] == 1)
    task = load_task(TaskConfig(name="iris", dataset="iris"), base_dir=".", seed=0)
    plan = make_plan(task.y, classification=True, folds=3, inner=2, seed=0)
    fold = plan.folds[1]
    assert fold_hash(fold) == rec["fold_hash"]
    point = next(p for p in rec["learning_curve"] if p["fraction"] == 0.3)
    ytr = task.y[fold.train]
    rows = curves.learning_subsample(ytr, 0.3, seed=curves.subsample_seed(fold_hash(fold)), classification=True)
    assert len(rows) == point["n_train"]
    from benchmark.config import parse_candidates

    cand = parse_candidates(["linear"])[0]
    est = build_estimator(cand, schema_of(task), rec["best_params"], seed=rec["seed"])
    train = fold.train[rows]
    est.fit(task.X.iloc[train], task.y[train])
    test = score_all("multiclass", task.y[fold.test], predict_output(est, task.X.iloc[fold.test], schema_of(task)), 3)
    for m, v in test.items():
        assert point["test"][m] == pytest.approx(v, rel=1e-9, abs=1e-12), m


def test_budget_ranks_at_full_budget_equal_the_leaderboard(run):
    store = Store(run)
    records, manifest = list(store.records()), store.read_manifest()
    table = ResultTable.from_records(records, manifest)
    metrics = {t: table.task_metric(t) for t in table.tasks}
    br = report_curves.budget_ranks(records, metrics, table.candidates)
    full = br[br.budget == br.budget.max()].set_index("candidate")["mean_rank"]
    lb = table.leaderboard().set_index("candidate")["mean_rank"]
    for c in table.candidates:
        assert full[c] == pytest.approx(lb[c])
    assert sorted(br.budget.unique()) == [1, 2, 4]


def test_curves_can_be_turned_off(tmp_path):
    raw = {"name": "off", "tasks": ["iris"], "candidates": ["dummy"], "trials": 2, "folds": 2, "inner": 2,
           "learning_curve": False, "budget_curve": False}
    run_suite(parse_suite(raw), out=tmp_path / "r", progress=False)
    (rec,) = _jobs(tmp_path / "r")[:1]
    assert "learning_curve" not in rec and "budget_curve" not in rec and "curve_fits" not in rec


# ---------------------------------------------------------------------------------------------
# report-side frames on synthetic records


def _rec(task, cand, fold, *, trials=(), budget=(), lc=(), metric="roc_auc", **kw):
    return {"type": "job", "task": task, "candidate": cand, "fold": fold, "state": "ok", "metric": metric,
            "trials": [{"number": i, "value": v, "state": "ok" if v is not None else "failed"} for i, v in enumerate(trials)],
            "budget_curve": [{"trials": b, "trial_number": 0, "test": {metric: v}} for b, v in budget],
            "learning_curve": [{"fraction": f, "n_train": int(100 * f), "test": {metric: v}, "train": {metric: v + 0.1}} for f, v in lc], **kw}


def test_budget_ranks_by_hand():
    # task t1: at 1 trial A > B; at 2 trials B > A.  Task t2: A > B throughout.
    recs = [_rec("t1", "A", 0, budget=[(1, 0.9), (2, 0.9)]), _rec("t1", "B", 0, budget=[(1, 0.8), (2, 0.95)]),
            _rec("t2", "A", 0, budget=[(1, 0.7), (2, 0.7)]), _rec("t2", "B", 0, budget=[(1, 0.6), (2, 0.65)])]
    br = report_curves.budget_ranks(recs, {"t1": "roc_auc", "t2": "roc_auc"}, ["A", "B"]).set_index(["budget", "candidate"])["mean_rank"]
    assert br[(1, "A")] == 1.0 and br[(1, "B")] == 2.0
    assert br[(2, "A")] == 1.5 and br[(2, "B")] == 1.5
    # lower is better, and a candidate evaluated at fewer trials keeps its last point
    recs = [_rec("t", "A", 0, budget=[(1, 3.0), (5, 1.0)], metric="rmse"), _rec("t", "B", 0, budget=[(1, 2.0)], metric="rmse")]
    br = report_curves.budget_ranks(recs, {"t": "rmse"}, ["A", "B"]).set_index(["budget", "candidate"])["mean_rank"]
    assert br[(1, "B")] == 1.0 and br[(5, "A")] == 1.0 and br[(5, "B")] == 2.0


def test_tuning_and_learning_frames_by_hand():
    recs = [_rec("t", "A", 0, trials=[0.5, 0.7, 0.6], lc=[(0.5, 0.6), (1.0, 0.8)]),
            _rec("t", "A", 1, trials=[0.6, None, 0.9], lc=[(0.5, 0.7), (1.0, 0.9)])]
    tc = report_curves.tuning_curves(recs, {"t": "roc_auc"}, n_shuffles=10)
    assert list(tc["trial"]) == [1, 2, 3]
    assert list(tc["mean"]) == pytest.approx([0.55, 0.65, 0.8])
    assert tc["shuffled_mean"].iloc[-1] == pytest.approx(0.8)
    lc = report_curves.learning_curves(recs, {"t": "roc_auc"})
    assert list(lc["test_mean"]) == pytest.approx([0.65, 0.85]) and list(lc["train_mean"]) == pytest.approx([0.75, 0.95])
    assert lc["test_sd"].iloc[0] == pytest.approx(np.std([0.6, 0.7], ddof=1))
    s = report_curves.learning_curve_summary(lc)
    assert list(s["mean"]) == pytest.approx([0.0, 1.0])


def test_epoch_histories_read_the_design_field():
    hist = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e, "lr": 0.01} for e in range(1, 4)]
    eh = report_curves.epoch_histories([_rec("t", "mlp", 0, epoch_history=hist), _rec("t", "A", 0)])
    assert list(eh.columns[:4]) == ["task", "candidate", "fold", "epoch"] and len(eh) == 3
    assert eh["valid_loss"].iloc[-1] == pytest.approx(0.4) and "lr" in eh
    assert report_curves.epoch_histories([_rec("t", "A", 0)]).empty
    assert isinstance(eh, pd.DataFrame)


def test_epoch_history_and_gpu_seconds_are_read_from_fitted_estimators():
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from benchmark.candidates.outputs import epoch_history, gpu_seconds

    class Net(BaseEstimator):
        def fit(self, X, y):
            self.history_ = [{"epoch": 1, "train_loss": 0.9, "valid_loss": 1.0}, {"epoch": 2, "train_loss": 0.5, "valid_loss": 0.7}]
            self.device_, self.fit_seconds_ = "cuda:0", 2.5
            return self

    pipe = make_pipeline(StandardScaler(), Net()).fit(np.zeros((4, 2)), np.arange(4))
    assert [e["epoch"] for e in epoch_history(pipe)] == [1, 2]
    assert gpu_seconds(pipe) == 2.5
    pipe[-1].device_ = "cpu"
    assert gpu_seconds(pipe) == 0.0
    assert epoch_history(make_pipeline(StandardScaler()).fit(np.zeros((4, 2)))) is None
