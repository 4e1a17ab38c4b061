"""Early-stopped boosters: the split they stop on, the patience, the rounds they record."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from benchmark.candidates import Schema, build_estimator
from benchmark.candidates.catalog import default_config
from benchmark.candidates.early_stopping import (
    Patience,
    carve_split,
    patience_floor,
    valid_fraction_for,
)
from benchmark.candidates.outputs import boosting_rounds, predict_output

BOOSTERS = ["hist_gb", "xgboost", "lightgbm", "catboost"]


@pytest.fixture(autouse=True)
def _one_thread():
    """One OpenMP thread, as the worker runs fits (HistGB crawls when its threads share busy cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _frame(n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A binary task whose column ``id`` is the row's position (to trace rows through a fit)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "color": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        "id": np.arange(n, dtype=float),
        "x1": rng.normal(size=n),
        "x2": rng.normal(size=n),
    })
    X.loc[X.index[::17], "x2"] = np.nan
    y = ((X["x1"] + 0.5 * (X["color"] == "red") + rng.normal(scale=0.7, size=n)) > 0).astype(np.int64).to_numpy()
    return X, y


def _schema(kind: str = "binary", k: int = 2) -> Schema:
    return Schema(kind, categorical=("color",), numeric=("id", "x1", "x2"), n_classes=k)


def _config(name: str, **fixed):
    cfg = default_config(name)
    return replace(cfg, fixed={**cfg.fixed, **fixed})


# ---------------------------------------------------------------------------------------------
# The rule


def test_patience_follows_the_adaptive_rule():
    # the floor: 300 rounds up to 10,000 rows, then 300 * 10,000 / n, never below 20
    assert [patience_floor(n) for n in (500, 10_000, 20_000, 60_000, 10**7)] == [300, 300, 150, 50, 20]
    p = Patience(floor=300, ceiling=10_000)
    assert p.patience == 300
    for r, loss in enumerate([5.0, 4.0] + [3.0] * 998 + [2.0]):
        p.update(r, loss)
    assert p.best_round == 1000 and p.patience == round(0.3 * 1000 + 20)  # 320 after a best at round 1000
    assert not p.stop(1319) and p.stop(1320)
    capped = Patience(floor=20, ceiling=50)
    capped.update(10_000, 1.0)
    assert capped.patience == 50
    fixed = Patience(floor=7, ceiling=7, rate=0.0, offset=7)
    fixed.update(5000, 1.0)
    assert fixed.patience == 7
    crumbs = Patience(floor=5, ceiling=5, rate=0.0, offset=5, min_delta=1e-3)
    for r, loss in enumerate([0.5, 0.1, 0.0999, 0.0998, 0.0997, 0.0996, 0.0995]):
        crumbs.update(r, loss)
    assert crumbs.best_round == 1 and crumbs.stop(6)  # a loss shrinking by crumbs is not improving
    tied = Patience(floor=5, ceiling=5, rate=0.0, offset=5)
    for r, (auc, logloss) in enumerate([(0.9, 0.5), (1.0, 0.4), (1.0, 0.3), (1.0, 0.29995), (0.99, 0.1)]):
        tied.update(r, -auc, logloss)
    assert tied.best_round == 2  # AUC saturated at 1: log loss breaks the tie, by more than 1e-4 only


def test_a_separable_multiclass_task_stops_long_before_the_cap():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    schema = Schema("multiclass", numeric=tuple(X.columns), n_classes=3)
    for name in BOOSTERS:
        est = build_estimator(default_config(name), schema, {"learning_rate": 0.1}, seed=0).fit(X, y.to_numpy())
        assert est[-1].stopped_early_ and est[-1].n_rounds_trained_ < 2000, name  # the cap is 10,000


def test_carved_split_is_seeded_stratified_and_keeps_every_class():
    y = np.array([0] * 90 + [1] * 30 + [2])  # class 2 has one row: it must stay in the fitting part
    fit, es = carve_split(len(y), y, valid_fraction_for(len(y)), seed=3)
    assert np.intersect1d(fit, es).size == 0 and np.union1d(fit, es).size == len(y)
    assert 120 in fit and set(np.unique(y[fit])) == {0, 1, 2}
    assert abs(np.mean(y[es] == 1) - 0.25) < 0.05  # stratified
    again, _ = carve_split(len(y), y, valid_fraction_for(len(y)), seed=3)
    other, _ = carve_split(len(y), y, valid_fraction_for(len(y)), seed=4)
    assert np.array_equal(fit, again) and not np.array_equal(fit, other)
    assert valid_fraction_for(100) == 0.2 and valid_fraction_for(4000) == 0.125 and valid_fraction_for(100_000) == 0.025
    assert carve_split(5, None, 0.2, seed=0)[1].size == 0  # too few rows: no split


# ---------------------------------------------------------------------------------------------
# The spy: every early-stopping set lies inside the rows its own fit was given


def _spy_on(monkeypatch, name: str, seen: list):
    """Wrap the library's classifier ``fit`` to record the ids of its training and early-stopping rows."""

    def ids(X) -> set[int]:
        if isinstance(X, pd.DataFrame):
            return set(X["id"].astype(int))
        return set(np.asarray(X)[:, 1].astype(int))  # ordinal output: categoricals first, then id

    def evaluation(kw) -> object:
        if name == "xgboost":
            return (kw.get("eval_set") or [[None]])[0][0]
        if name == "lightgbm":
            return kw.get("eval_X")
        if name == "catboost":
            return (kw.get("eval_set") or [None])[0]
        return kw.get("X_val")

    if name == "xgboost":
        import xgboost

        cls = xgboost.XGBClassifier
    elif name == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier
    elif name == "catboost":
        import catboost

        cls = catboost.CatBoostClassifier
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier as cls
    real = cls.fit

    def spy(self, X, y, *args, **kw):
        held_out = evaluation(kw)
        seen.append((ids(X), ids(held_out) if held_out is not None else set()))
        return real(self, X, y, *args, **kw)

    monkeypatch.setattr(cls, "fit", spy)


@pytest.mark.parametrize("name", BOOSTERS)
def test_early_stopping_never_sees_scoring_or_test_rows(monkeypatch, name):
    from benchmark.data.build import from_frame
    from benchmark.run.worker import Job, TaskRef, preload_tasks, run_job
    from benchmark.splits import make_plan

    X, y = _frame()
    task = from_frame(X, y, name=f"es-leak-{name}")
    preload_tasks({task.name: task})
    plan = make_plan(task.y, classification=True, folds=3, inner=2, seed=0)
    fold = plan.folds[0]
    seen: list[tuple[set[int], set[int]]] = []
    _spy_on(monkeypatch, name, seen)
    job = Job(TaskRef(task.name, task.data_hash), _config(name, max_rounds=40), fold, "roc_auc", 2, None, "tpe", 0, plan.hash)
    rec = run_job(job)
    assert rec["state"] == "ok", rec.get("error")

    inner_fits = [set(fold.train[fit].tolist()) for fit, _ in fold.inner]
    inner_vals = [set(fold.train[val].tolist()) for _, val in fold.inner]
    outer_train, outer_test = set(fold.train.tolist()), set(fold.test.tolist())
    assert len(seen) == 2 * len(fold.inner) + 1  # 2 trials × 2 inner splits + the final refit
    *trial_fits, refit = seen
    for fit_ids, es_ids in trial_fits:
        assert es_ids and not fit_ids & es_ids
        given = fit_ids | es_ids  # the rows this fit was handed: exactly an inner fit split
        assert given in inner_fits
        assert not es_ids & outer_test
        assert not es_ids & inner_vals[inner_fits.index(given)]  # never the rows that score the trial
    # the refit trains the tuned rounds, scaled, on every outer training row: nothing held out
    assert refit == (outer_train, set())


# ---------------------------------------------------------------------------------------------
# Rounds recorded, best round kept, seeds, clone


@pytest.mark.parametrize("name", ["xgboost", "catboost"])
def test_rounds_are_recorded_in_trials_and_in_the_job_record(name):
    from benchmark.data.build import from_frame
    from benchmark.run.worker import Job, TaskRef, preload_tasks, run_job
    from benchmark.splits import make_plan

    X, y = _frame(200, seed=1)
    task = from_frame(X, y, name=f"es-rounds-{name}")
    preload_tasks({task.name: task})
    plan = make_plan(task.y, classification=True, folds=3, inner=2, seed=0)
    cap = 400
    job = Job(TaskRef(task.name, task.data_hash), _config(name, max_rounds=cap, patience=15), plan.folds[1], "roc_auc", 3, None, "tpe", 0, plan.hash)
    rec = run_job(job)
    assert rec["state"] == "ok", rec.get("error")
    fold = plan.folds[1]
    for trial in rec["trials"]:
        assert len(trial["rounds"]) == len(fold.inner)
        assert all(1 <= r <= cap for r in trial["rounds"])
    assert any(r < cap for t in rec["trials"] for r in t["rounds"])  # it did stop early
    # the refit: the best trial's mean rounds × outer training rows / inner fit rows
    best = next(t for t in rec["trials"] if t["number"] == rec["best_trial"])
    inner_rows = np.mean([len(fit) for fit, _ in fold.inner])
    assert rec["rounds"] == min(cap, round(np.mean(best["rounds"]) * len(fold.train) / inner_rows))


@pytest.mark.parametrize(("stopping", "logged"), [("loss", "logloss"), ("auto", "auc")])
def test_xgboost_keeps_the_best_round_on_the_early_stopping_rows(stopping, logged):
    import xgboost as xgb

    X, y = _frame(300, seed=2)
    schema = _schema()
    est = build_estimator(_config("xgboost", max_rounds=300, patience=300, stopping_metric=stopping), schema, {"learning_rate": 0.3}, seed=5)
    est.fit(X, y)
    model = est[-1]
    assert model.stopping_metric_ == ("auc" if stopping == "auto" else "loss")  # binary: AUC unless told the loss
    # an independent fit on the same carved split, fixed rounds, logging the metric every round
    fit, es = carve_split(len(y), y, valid_fraction_for(len(y)), seed=5)
    Z = est[0].transform(X)
    ref = xgb.XGBClassifier(tree_method="hist", n_estimators=300, learning_rate=0.3, random_state=5, n_jobs=1, eval_metric=[logged, "logloss"])
    ref.fit(Z[fit], y[fit], eval_set=[(Z[es], y[es])], verbose=False)
    curves = ref.evals_result()["validation_0"]
    if logged == "logloss":  # the first round that no later round beats by 1e-4
        losses = np.asarray(curves["logloss"])
        best = 0
        for r in range(1, len(losses)):
            if losses[r] < losses[best] - 1e-4:
                best = r
    else:  # the highest AUC; among rounds that tie it, log loss breaks the tie (by 1e-4)
        auc, logloss = np.asarray(curves["auc"]), np.asarray(curves["logloss"])
        best = 0
        for r in range(1, len(auc)):
            if auc[r] > auc[best] or (auc[r] == auc[best] and logloss[r] < logloss[best] - 1e-4):
                best = r
    assert model.n_rounds_ == best + 1 == boosting_rounds(est)
    assert model.n_rounds_trained_ == min(300, best + 1 + 300)  # stopped 300 rounds after the best, or at the cap
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(Z, iteration_range=(0, model.n_rounds_)), rtol=1e-6)


@pytest.mark.parametrize("name", BOOSTERS)
def test_fits_are_reproducible_with_a_seed_and_clone_able(name):
    X, y = _frame(150, seed=3)
    schema = _schema()
    est = build_estimator(_config(name, max_rounds=200), schema, {}, seed=11)
    a = est.fit(X, y)
    pa, ra = predict_output(a, X, schema), boosting_rounds(a)
    b = clone(est).fit(X, y)
    np.testing.assert_array_equal(pa, predict_output(b, X, schema))
    assert ra == boosting_rounds(b) and 1 <= ra <= 200
    params = clone(est).get_params()
    assert params["model__max_rounds"] == 200 and params["model__random_state"] == 11


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_boosters_early_stop_for_every_kind_of_task(kind):
    X, y = _frame(150, seed=4)
    k = 3 if kind == "multiclass" else 0
    if kind == "multiclass":
        y = (y + (X["x2"].fillna(0) > 0.8)).astype(np.int64).to_numpy()
    else:
        y = X["x1"].to_numpy() * 3 + np.random.default_rng(0).normal(size=len(y))
    schema = _schema(kind, k)
    for name in BOOSTERS:
        est = build_estimator(_config(name, max_rounds=150, patience=10), schema, {}, seed=0).fit(X, y)
        out = predict_output(est, X, schema)
        assert out.shape == ((150, k) if k else (150,)) and np.isfinite(out).all()
        assert est[-1].n_early_stopping_rows_ == 30 and boosting_rounds(est) <= 150


def test_fixed_rounds_and_the_library_rounds_parameter_as_the_cap():
    X, y = _frame(120)
    schema = _schema()
    fixed = build_estimator(_config("lightgbm", max_rounds=250, rounds=25), schema, {}, seed=0).fit(X, y)
    assert fixed[-1].n_rounds_ == 25 and not fixed[-1].stopped_early_
    assert fixed[-1].n_early_stopping_rows_ == 0 and fixed[-1].estimator_.booster_.current_iteration() == 25
    # a suite's n_estimators / iterations / max_iter caps the rounds, as it did before early stopping
    for name, key in (("xgboost", "n_estimators"), ("catboost", "iterations"), ("hist_gb", "max_iter")):
        est = build_estimator(default_config(name), schema, {key: 7}, seed=0)
        assert est[-1].max_rounds == 7
        assert boosting_rounds(est.fit(X, y)) <= 7


@pytest.mark.parametrize(("param", "value"), [("stopping_metric", "AUC"), ("patience", 0), ("patience", "soon"), ("min_patience", 0), ("min_patience", "low")])
def test_bad_early_stopping_settings_fail_the_fit_with_a_clear_message(param, value):
    X, y = _frame(60)
    est = build_estimator(_config("lightgbm", **{param: value}), _schema(), {}, seed=0)
    with pytest.raises(ValueError, match=param):
        est.fit(X, y)


# ---------------------------------------------------------------------------------------------
# Cheaper stopping: HistGB's AUC from cached raw predictions, the patience floor, the RMSE tolerance


def test_histgb_round_auc_gives_the_same_scores_and_rounds_as_sklearns_roc_auc():
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from benchmark.candidates.early_stopping import HistGBRoundAUC

    X, y = make_classification(600, 8, flip_y=0.2, random_state=1)
    X[::9, 2] = np.nan  # missing values take their own bin
    y = np.where(y == 1, "yes", "no")  # string labels: the positive class is the greater one
    fits = {}
    for name, scoring in (("sklearn", "roc_auc"), ("ours", HistGBRoundAUC())):
        fits[name] = HistGradientBoostingClassifier(max_iter=400, early_stopping=True, n_iter_no_change=40, scoring=scoring,
                                                    learning_rate=0.05, random_state=0).fit(X[:480], y[:480], X_val=X[480:], y_val=y[480:])
    ours, ref = fits["ours"], fits["sklearn"]
    assert ours.n_iter_ == ref.n_iter_ > 40
    np.testing.assert_allclose(ours.validation_score_, ref.validation_score_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.train_score_, ref.train_score_, rtol=0, atol=1e-12)
    # and the last validation score is the AUC of the fitted model, computed independently
    assert ours.validation_score_[-1] == pytest.approx(roc_auc_score(y[480:] == "yes", ours.decision_function(X[480:])), abs=1e-12)


def test_min_patience_replaces_the_row_dependent_floor():
    X, y = _frame(400)
    for floor in ("auto", 5):
        est = build_estimator(_config("xgboost", min_patience=floor), _schema(), {"learning_rate": 0.3}, seed=0).fit(X, y)
        es = est[-1]
        best = es.n_rounds_ - 1
        expected_floor = 300 if floor == "auto" else 5
        assert es.patience_ == max(expected_floor, round(0.3 * best + 20))
        assert es.n_rounds_trained_ <= es.n_rounds_ + es.patience_
    # HistGB's patience is 1/learning_rate, clipped to [10, floor]
    hist = build_estimator(_config("hist_gb", min_patience=12), _schema(), {"learning_rate": 0.01}, seed=0).fit(X, y)
    assert hist[-1].patience_ == 12


def test_a_regression_loss_must_fall_by_a_share_of_its_best():
    from benchmark.candidates.early_stopping import REL_DELTA

    crumbs = Patience(floor=5, ceiling=5, rate=0.0, offset=5, rel_delta=REL_DELTA)
    loss = 100.0
    crumbs.update(0, loss)
    for r in range(1, 7):
        loss *= 1 - REL_DELTA / 10  # each round 0.001% better: crumbs
        crumbs.update(r, loss)
    assert crumbs.best_round == 0 and crumbs.stop(5)
    real = Patience(floor=5, ceiling=5, rate=0.0, offset=5, rel_delta=REL_DELTA)
    for r, value in enumerate([100.0, 99.0, 98.5]):  # 1% and 0.5% better: improvements
        real.update(r, value)
    assert real.best_round == 2
    # the regressors stop on it; the classifiers keep their absolute MIN_DELTA
    X, y = _frame(300)
    reg = build_estimator(_config("lightgbm"), Schema("regression", numeric=("id", "x1", "x2"), categorical=("color",)), {}, seed=0)
    reg.fit(X, X["x1"].to_numpy() * 3 + np.random.default_rng(0).normal(size=len(X)))
    assert reg[-1].stopped_early_
