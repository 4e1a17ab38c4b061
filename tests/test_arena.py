"""Elo, win rate, improvability and harmonic mean rank (report/arena.py) against independent computations."""

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.report.arena import (
    ANCHOR,
    ELO_SCALE,
    RIDGE,
    arena_table,
    bradley_terry,
    harmonic_mean_rank,
    improvability,
    pairwise_wins,
)


def _folds(seed=0, tasks=6, folds=3, cands=("a", "b", "random_forest", "d"), shift=(0.0, 0.02, 0.04, 0.01)):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([[f"t{i}" for i in range(tasks)], range(folds)])
    x = rng.normal(0.8, 0.03, size=(len(idx), len(cands))) + np.asarray(shift)
    x = np.round(x, 2)  # rounding makes ties
    return pd.DataFrame(x, index=idx, columns=list(cands))


def test_pairwise_wins_count_ties_half_and_missing_as_losses():
    idx = pd.MultiIndex.from_tuples([("t", 0), ("t", 1)])
    f = pd.DataFrame({"a": [1.0, 0.5], "b": [1.0, np.nan], "c": [np.nan, np.nan]}, index=idx)
    w = pairwise_wins(f)[0]
    assert w[0, 1] == 0.5 + 1 and w[1, 0] == 0.5  # tie on fold 0, a beats missing b on fold 1
    assert w[2, 1] == 0.5 and w[1, 2] == 1.5  # two missing tie
    assert w[0, 2] == 2 and w[2, 0] == 0


def test_bradley_terry_matches_choix():
    choix = pytest.importorskip("choix")
    f = _folds()
    w = pairwise_wins(f).sum(axis=0)
    # choix takes (winner, loser) pairs: a win is two copies, a tie one each way (so each pair is weighted twice ours)
    data = []
    k = w.shape[0]
    for i in range(k):
        for j in range(k):
            whole = int(round(w[i, j] * 2))
            data += [(i, j)] * whole
    theta_c = choix.opt_pairwise(k, data, alpha=RIDGE, method="BFGS", tol=1e-10)
    theta = bradley_terry(w)
    np.testing.assert_allclose(theta - theta.mean(), theta_c - theta_c.mean(), atol=1e-4)


def test_bradley_terry_matches_a_direct_likelihood_maximisation():
    from scipy.optimize import minimize

    f = _folds(seed=3)
    w = pairwise_wins(f).sum(axis=0)
    k = w.shape[0]

    def nll(t):
        return sum(w[i, j] * math.log1p(math.exp(-(t[i] - t[j]))) for i in range(k) for j in range(k)) + RIDGE / 2 * float(t @ t)

    # a derivative-free optimiser on the plain-Python likelihood
    t = minimize(nll, np.zeros(k), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000}).x
    ours = bradley_terry(w)
    np.testing.assert_allclose(ours - ours[0], t - t[0], atol=1e-4)


def test_elo_is_anchored_on_random_forest_with_bootstrap_intervals():
    f = _folds()
    errs = 1 - f.groupby(level=0).mean()
    at = arena_table(f, errs, n_boot=50)
    assert at.reference == "random_forest"
    row = at.frame.set_index("candidate")
    assert row.loc["random_forest", "elo"] == pytest.approx(ANCHOR)
    assert (row["elo_low"] <= row["elo"] + 1e-6).all() and (row["elo"] <= row["elo_high"] + 1e-6).all()
    assert list(at.frame["candidate"])[0] == "random_forest"  # it has the largest shift
    # Elo differences reproduce the Bradley-Terry probabilities: 400 per factor of ten in odds
    w = pairwise_wins(f).sum(axis=0)
    theta = bradley_terry(w)
    c = list(f.columns)
    assert row.loc["a", "elo"] - row.loc["d", "elo"] == pytest.approx(ELO_SCALE * (theta[c.index("a")] - theta[c.index("d")]), abs=1e-3)


def test_dummy_is_the_reference_without_random_forest():
    f = _folds(cands=("x", "dummy", "y", "z"))
    at = arena_table(f, 1 - f.groupby(level=0).mean(), n_boot=5)
    assert at.reference == "dummy"


def test_win_rate_counts_every_fold_and_pair():
    f = _folds()
    at = arena_table(f, 1 - f.groupby(level=0).mean(), n_boot=0).frame.set_index("candidate")
    for c in f.columns:
        won = 0.0
        n = 0
        for o in f.columns:
            if o == c:
                continue
            won += float((f[c] > f[o]).sum() + 0.5 * (f[c] == f[o]).sum())
            n += len(f)
        assert at.loc[c, "win_rate"] == pytest.approx(won / n)


def test_improvability_and_harmonic_mean_rank_by_hand():
    errs = pd.DataFrame({"a": [0.1, 0.2, 0.0], "b": [0.2, 0.1, 0.01], "c": [0.4, np.nan, 0.02]}, index=["t1", "t2", "perfect"])
    imp = improvability(errs)
    assert imp.loc["t1", "b"] == pytest.approx(0.5) and imp.loc["t1", "c"] == pytest.approx(0.75) and imp.loc["t1", "a"] == 0
    assert math.isnan(imp.loc["t2", "c"])
    assert imp.loc["perfect"].isna().all()  # a perfect best would make every other gap 100 %
    errs = errs.drop(index="perfect")
    means = -errs
    hmr = harmonic_mean_rank(means)
    assert hmr["a"] == pytest.approx(2 / (1 + 1 / 2)) and hmr["c"] == pytest.approx(2 / (1 / 3 + 1 / 3))
