"""FoldPlan: deterministic, stratified, grouped and time-ordered splits without leakage."""

import numpy as np
import pytest

from benchmark.errors import InputError
from benchmark.splits import make_plan


def _y(n=120, seed=0):
    return np.random.default_rng(seed).choice([0, 1, 2], size=n, p=[0.6, 0.3, 0.1])


def test_plan_is_deterministic_and_seed_dependent():
    y = _y()
    a = make_plan(y, classification=True, folds=4, repeats=2, inner=3, seed=7)
    b = make_plan(y, classification=True, folds=4, repeats=2, inner=3, seed=7)
    c = make_plan(y, classification=True, folds=4, repeats=2, inner=3, seed=8)
    assert a.hash == b.hash and a.hash != c.hash
    assert len(a) == 8
    for fa, fb in zip(a.folds, b.folds, strict=True):
        assert np.array_equal(fa.test, fb.test)


def test_outer_folds_partition_rows_and_inner_stays_inside_train():
    y = _y()
    plan = make_plan(y, classification=True, folds=4, repeats=1, inner=3, seed=0)
    tests = np.concatenate([f.test for f in plan.folds])
    assert np.array_equal(np.sort(tests), np.arange(len(y)))  # each row tested exactly once
    for f in plan.folds:
        assert not set(f.train) & set(f.test)
        for fit, val in f.inner:  # positions into the outer training rows
            assert fit.max() < len(f.train) and val.max() < len(f.train)
            assert not set(fit) & set(val)
        # stratified: class shares in test close to the whole
        for c in range(3):
            assert abs(np.mean(y[f.test] == c) - np.mean(y == c)) < 0.06


def test_holdout_inner():
    plan = make_plan(_y(), classification=True, folds=3, inner=0.25, seed=0)
    for f in plan.folds:
        assert len(f.inner) == 1
        fit, val = f.inner[0]
        assert abs(len(val) / len(f.train) - 0.25) < 0.03


def test_groups_never_straddle_train_and_test():
    y = np.random.default_rng(1).normal(size=100)
    groups = np.repeat(np.arange(20), 5)
    plan = make_plan(y, classification=False, folds=4, inner=2, groups=groups, seed=0)
    assert plan.strategy == "group"
    for f in plan.folds:
        assert not set(groups[f.train]) & set(groups[f.test])
        g_tr = groups[f.train]
        for fit, val in f.inner:
            assert not set(g_tr[fit]) & set(g_tr[val])


def test_time_folds_train_strictly_before_test():
    n = 90
    time = np.random.default_rng(2).permutation(n)  # rows in random order, time column decides
    y = np.arange(n, dtype=float)
    plan = make_plan(y, classification=False, folds=3, inner=2, time=time, seed=0)
    assert plan.strategy == "time"
    for f in plan.folds:
        assert time[f.train].max() < time[f.test].min()
        t_tr = time[f.train]
        for fit, val in f.inner:
            assert t_tr[fit].max() < t_tr[val].min()
    with pytest.raises(InputError, match="repeats must be 1"):
        make_plan(y, classification=False, folds=3, repeats=2, time=time)


def test_bad_counts_are_clear_errors():
    with pytest.raises(InputError, match="smallest class has 2 rows"):
        make_plan(np.array([0] * 20 + [1] * 2), classification=True, folds=3)
    with pytest.raises(InputError, match="only 3 distinct groups"):
        make_plan(np.zeros(30), classification=False, folds=4, groups=np.repeat([1, 2, 3], 10))
    with pytest.raises(InputError, match="folds must be"):
        make_plan(np.zeros(30), classification=False, folds=1)
