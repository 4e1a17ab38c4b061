"""The report's audit numbers (report/audit) on synthetic records: budget, cost, splits, post hoc, failures."""

import math

import pytest

from benchmark.report.audit import (
    audit,
    curve_failures,
    failure_groups,
    missing_by_pair,
    most_common,
    trial_failures,
)

MANIFEST = {"suite": {"trials": 3}, "tasks": {"t": {"metric": "roc_auc"}}}


def _job(cand, fold, *, n_trials=3, state="ok", fold_hash="h", **kw):
    trials = [{"number": i, "state": "ok", "fold_values": [0.5, 0.5]} for i in range(n_trials)]
    return {"type": "job", "task": "t", "candidate": cand, "fold": fold, "state": state, "n_trials": n_trials, "trials": trials,
            "fold_hash": f"{fold_hash}{fold}", "fit_seconds": 1.0 + fold, "cpu_seconds": 2.0, "curve_cpu_seconds": 0.5, **kw}


def test_costs_budget_and_splits():
    jobs = [_job("A", 0), _job("A", 1), _job("B", 0, n_trials=1), _job("B", 1, n_trials=1), _job("C", 0, n_trials=2), _job("C", 1)]
    au = audit(jobs, ["A", "B", "C"], ["t"], MANIFEST)
    assert au.budget == 3 and au.short == ["B", "C"] and au.one_config == ["B"] and au.fewer_trials == ["C"]
    assert au.fold_hashes and au.same_splits and not au.any_gpu and not au.any_base
    a = au.costs[0]
    assert (a.candidate, a.n_ok, a.trials, a.trials_total, a.model_fits) == ("A", 2, [3, 3], 6, 2 * (3 * 2 + 1))
    assert a.cpu_seconds == pytest.approx(3.0) and a.curve_cpu_seconds == pytest.approx(1.0) and a.fit_seconds == pytest.approx(1.5)
    assert math.isnan(a.predict_seconds)
    other = audit([_job("A", 0), _job("B", 0, fold_hash="x")], ["A", "B"], ["t"], MANIFEST)
    assert other.fold_hashes and not other.same_splits


def test_boosting_rounds_in_the_cost_table():
    trials = [{"number": 0, "state": "ok", "rounds": [40, 900]}, {"number": 1, "state": "ok", "rounds": [12, 30]}]
    jobs = [_job("gb", 0, rounds=100), _job("gb", 1, rounds=300), _job("lin", 0), _job("lin", 1)]
    jobs[0]["trials"] = trials
    au = audit(jobs, ["gb", "lin"], ["t"], MANIFEST)
    gb, lin = au.costs
    assert au.any_rounds and gb.rounds == pytest.approx(200.0) and gb.rounds_range == (12, 900)
    assert math.isnan(lin.rounds) and lin.rounds_range is None
    assert not audit(jobs[2:], ["lin"], ["t"], MANIFEST).any_rounds


def test_post_hoc_summary_and_gain():
    ens = {"library": {"A": [0], "B": [0]}, "library_size": 6, "members": [{"candidate": "A", "weight": 0.75}, {"candidate": "B", "weight": 0.25}],
           "val_score": 0.9, "best_single": {"score": 0.8}}
    jobs = [_job("A", 0, test_roc_auc=0.8), _job("B", 0, test_roc_auc=0.7),
            _job("E", 0, n_trials=0, post_hoc=True, ensemble=ens, test_roc_auc=0.85)]
    au = audit(jobs, ["A", "B", "E"], ["t"], MANIFEST)
    assert au.short == []  # a post-hoc ensemble runs no trials and is not short of the budget
    (s,) = au.post_hoc
    assert (s.candidate, s.library, s.library_size, s.refits, s.n_beat_best, s.n_folds) == ("E", ["A", "B"], 6.0, 2.0, 1, 1)
    assert s.excluded == {}  # a record from before the screen
    screened = [_job("E", f, n_trials=0, post_hoc=True, ensemble={**ens, "excluded": x}) for f, x in ((0, {"constant": 1, "over the library cap": 3}), (1, {"constant": 1}))]
    assert audit(screened, ["E"], ["t"], MANIFEST).post_hoc[0].excluded == {"constant": 1.0, "over the library cap": 1.5}
    (g,) = au.gains
    assert (g.candidate, g.task, g.metric, g.best) == ("E", "t", "roc_auc", "A")
    assert g.gain == pytest.approx(0.05) and g.weights == [("A", 0.75), ("B", 0.25)]


def test_failures_grouped():
    failed = [_job("A", 0, state="failed", error="boom", error_kind="model"), _job("A", 1, state="failed", error="boom", error_kind="model"),
              _job("B", 0, state="failed", error="x")]
    assert {k: len(v) for k, v in failure_groups(failed).items()} == {("A", "[model] boom"): 2, ("B", "x"): 1}
    jobs = [{"candidate": "A", "trials": [{"state": "failed", "error": "E1\ntrace"}, {"state": "ok"}, {"state": "failed"}],
             "learning_curve": [{"fraction": 0.1, "skipped": "too few"}, {"fraction": 0.5, "error": "bad", "timeout": True}],
             "budget_curve": [{"trials": 1, "error": "nope"}]}]
    assert trial_failures(jobs) == {"A": ["E1", "unknown error"]}
    assert curve_failures(jobs) == {("A", "learning curve (too few rows, skipped)"): ["10 %: too few"],
                                    ("A", "learning curve (timed out)"): ["50 %: bad"], ("A", "budget curve"): ["nope"]}
    assert most_common(["a", "b", "b"]) == ("b", 2)
    assert missing_by_pair([("t", "A", 0), ("t", "A", 2), ("u", "B", 1)]) == {("t", "A"): [0, 2], ("u", "B"): [1]}
