"""Greedy ensemble selection never does worse on its validation predictions than its start."""

import numpy as np
import pytest

from benchmark.metrics import METRICS
from benchmark.run.ensembles import greedy_selection


def _library(seed, n=300, k=2, m=12):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    preds = []
    for _ in range(m):
        logits = rng.normal(size=(n, k)) + rng.uniform(0, 2) * np.eye(k)[y]
        p = np.exp(logits)
        preds.append(p / p.sum(axis=1, keepdims=True))
    return preds, y


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "accuracy"])
def test_never_worse_than_the_best_single_member(seed, metric):
    m = METRICS[metric]
    preds, y = _library(seed, k=3 if metric != "roc_auc" else 2)
    k = preds[0].shape[1]
    sel = greedy_selection(preds, y, m, n_classes=k, rounds=20)
    singles = [m.fn(y, p, k) for p in preds]
    best_single = max(singles) if m.greater_is_better else min(singles)
    assert sel.best_single_score == pytest.approx(best_single)
    assert m.oriented(sel.score) >= m.oriented(best_single) - 1e-12
    # the reported score is the score of the weighted average it returns
    avg = sum(w * preds[i] for i, w in sel.weights.items())
    assert m.fn(y, avg, k) == pytest.approx(sel.score)
    assert sum(sel.weights.values()) == pytest.approx(1.0)


def test_complementary_members_are_combined_for_regression():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    noise = rng.normal(size=500)
    a, b = y + noise, y - noise  # each is poor alone; their mean is exact
    sel = greedy_selection([a, b, y + 2 * rng.normal(size=500)], y, METRICS["rmse"], n_classes=0, rounds=10)
    assert set(sel.weights) == {0, 1} and sel.weights[0] == pytest.approx(0.5)
    assert sel.score == pytest.approx(0.0, abs=1e-12)
    assert sel.score < sel.best_single_score


# --- safeguards (issue 14, item 6) ---------------------------------------------------------------

def _overconfident(seed, n=400):
    """A good but overconfident binary predictor: averaging it with the class prior lowers its log loss."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = 6 * (2 * y - 1) + rng.normal(scale=5, size=n)
    p1 = 1 / (1 + np.exp(-logit))
    return np.column_stack([1 - p1, p1]), y


@pytest.mark.parametrize("seed", range(3))
def test_a_constant_predictor_in_the_library_gets_zero_weight(seed):
    m = METRICS["log_loss"]
    good, y = _overconfident(seed)
    prior = np.tile(np.bincount(y, minlength=2) / len(y), (len(y), 1))
    library = [good, prior]
    naive = greedy_selection(library, y, m, n_classes=2, rounds=20, screen=False)
    assert naive.weights.get(1, 0) > 0  # without the screen the constant is chosen (the bug)
    sel = greedy_selection(library, y, m, n_classes=2, rounds=20)
    assert sel.weights == {0: 1.0} and sel.excluded == {1: "constant"}
    # never worse than any member of its library, the dropped constant included
    assert m.oriented(sel.score) >= max(m.oriented(m.fn(y, p, 2)) for p in library) - 1e-12


def test_a_per_fold_constant_cannot_buy_pooled_auc():
    """The dummy's out-of-fold predictions are constant within each inner fold; pooled over folds
    they can still rank rows by fold. Scored per fold, they carry nothing and are dropped."""
    rng = np.random.default_rng(0)
    n = 300
    groups = np.repeat([0, 1], n // 2)
    y = rng.integers(0, 2, n)
    y[groups == 1] = rng.random(n // 2) < 0.8  # fold 1 has more positives
    noisy = np.column_stack([np.zeros(n), y + rng.normal(scale=1.5, size=n)])
    dummy = np.column_stack([np.zeros(n), np.where(groups == 1, 0.8, 0.5)])
    m = METRICS["roc_auc"]
    pooled = greedy_selection([noisy, dummy], y, m, n_classes=2, rounds=10, screen=False)
    assert pooled.weights.get(1, 0) > 0
    sel = greedy_selection([noisy, dummy], y, m, n_classes=2, rounds=10, groups=groups)
    assert 1 not in sel.weights and sel.excluded == {1: "constant"}


def test_members_no_better_than_a_constant_are_dropped():
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    good = y + rng.normal(scale=0.5, size=300)
    bad = rng.normal(size=300) * 0.01 + 3.0  # varies, but worse than predicting the mean
    sel = greedy_selection([good, bad], y, METRICS["rmse"], n_classes=0, rounds=10)
    assert sel.excluded == {1: "no better than a constant"} and set(sel.weights) == {0}
    assert sel.baseline == pytest.approx(float(np.std(y)))


def test_library_cap_follows_the_number_of_validation_rows():
    from benchmark.run.selection import library_cap

    assert library_cap(50) == 3 and library_cap(100) == 3 and library_cap(10_000) == 25 and library_cap(100_000) == 100
    assert library_cap(200_000) is None
    caps = [library_cap(n) for n in (100, 300, 1000, 3000, 10_000, 30_000)]
    assert caps == sorted(caps) and 3 < caps[2] < 25
    preds, y = _library(0, n=300, m=12)
    sel = greedy_selection(preds, y, METRICS["roc_auc"], n_classes=2, rounds=20, labels=[f"c{i % 4}" for i in range(12)])
    dropped = [i for i, r in sel.excluded.items() if r == "over the library cap"]
    assert set(sel.excluded) == set(dropped)  # every member beats a constant here
    assert len(dropped) == 12 - library_cap(300) and not set(sel.weights) & set(dropped)
    # the cap keeps each candidate's best first: all four candidates stay in
    kept = [i for i in range(12) if i not in sel.excluded]
    assert {i % 4 for i in kept} == {0, 1, 2, 3}


def test_rounds_are_capped():
    from benchmark.run.selection import MAX_ROUNDS

    preds, y = _library(3, m=6)
    sel = greedy_selection(preds, y, METRICS["log_loss"], n_classes=2, rounds=500, max_size=None)
    assert len(sel.scores) == MAX_ROUNDS


def test_per_candidate_selection_uses_only_that_candidates_members():
    from benchmark.run.selection import per_candidate_selection

    preds, y = _library(4, m=9)
    labels = ["a", "b", "c"] * 3
    own = per_candidate_selection(preds, y, METRICS["log_loss"], labels, n_classes=2, rounds=10, max_size=None)
    assert set(own) == {"a", "b", "c"}
    for label, (idx, sel) in own.items():
        assert idx == [i for i, lab in enumerate(labels) if lab == label]
        alone = greedy_selection([preds[i] for i in idx], y, METRICS["log_loss"], n_classes=2, rounds=10, max_size=None)
        assert sel.weights == alone.weights and sel.score == alone.score


def test_crosscheck_falls_back_to_the_best_single_member_when_the_gain_does_not_hold_up():
    """B cancels A's errors on fold 0 only and doubles them on fold 1: selected on all rows the
    blend looks better, but selected on one fold it loses on the other."""
    rng = np.random.default_rng(0)
    n = 400
    groups = np.repeat([0, 1], n // 2)
    y = rng.normal(size=n)
    err = rng.normal(scale=0.5, size=n)
    a = y + err
    b = np.where(groups == 0, y - err, y + 2 * err)
    m = METRICS["rmse"]
    blind = greedy_selection([a, b], y, m, n_classes=0, rounds=10, groups=groups, crosscheck=False)
    assert set(blind.weights) == {0, 1} and not blind.fell_back
    sel = greedy_selection([a, b], y, m, n_classes=0, rounds=10, groups=groups)
    assert sel.fell_back and sel.weights == {sel.best_single: 1.0}
    # a blend that helps on every fold is kept
    c = y - err
    kept = greedy_selection([a, c], y, m, n_classes=0, rounds=10, groups=groups)
    assert not kept.fell_back and set(kept.weights) == {0, 1}
