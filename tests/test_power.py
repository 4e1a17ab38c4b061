"""The minimum detectable effect (report/power.py), checked on synthetic designs with a known effect.

Each check draws designs whose true difference is the computed MDE, runs the project's own test
(stats.corrected_ttest, stats.wilcoxon_signed_rank) on them with an independent random stream,
and expects it to reject in about 80 % of them.
"""

import math

import numpy as np
import pytest

from benchmark import stats
from benchmark.report.power import ttest_mde, wilcoxon_mde


@pytest.mark.parametrize("folds,m", [(5, 1), (10, 4), (3, 16)])  # (3, 16): the quick suite; scipy's tails give NaN there
def test_corrected_ttest_mde_has_80_percent_power(folds, m):
    n_train, n_test, sd_total, alpha = 400.0, 100.0, 0.02, 0.05
    rho = n_test / (n_train + n_test)  # the correlation the Nadeau-Bengio correction assumes
    sd_within = sd_total * math.sqrt(1 - rho)  # what the fold differences' sample sd estimates
    mde = ttest_mde(sd_within, folds, n_train, n_test, alpha=alpha, m=m)
    rng = np.random.default_rng(12345)
    n_sim, hits = 1500, 0
    for _ in range(n_sim):
        d = mde + sd_total * (math.sqrt(rho) * rng.standard_normal() + math.sqrt(1 - rho) * rng.standard_normal(folds))
        r = stats.corrected_ttest(d, np.zeros(folds), n_train=n_train, n_test=n_test)
        hits += r.p_value <= alpha / m
    assert hits / n_sim == pytest.approx(0.8, abs=0.04)


def test_wilcoxon_mde_has_80_percent_power():
    n_tasks, sd, alpha, m = 12, 0.1, 0.05, 3
    mde = wilcoxon_mde(sd, n_tasks, alpha=alpha, m=m)
    rng = np.random.default_rng(999)
    n_sim = 1500
    hits = sum(stats.wilcoxon_signed_rank(rng.normal(mde, sd, n_tasks))[1] <= alpha / m for _ in range(n_sim))
    assert hits / n_sim == pytest.approx(0.8, abs=0.04)


def test_too_few_tasks_detect_nothing():
    # three tasks: the smallest two-sided signed-rank p is 2/8 = 0.25 > 0.05
    assert wilcoxon_mde(0.1, 3, alpha=0.05) == math.inf
    assert math.isfinite(wilcoxon_mde(0.1, 6, alpha=0.05))
    assert ttest_mde(0.1, 1, 100, 50, alpha=0.05) == math.inf


def test_more_folds_and_fewer_comparisons_buy_power():
    base = ttest_mde(0.02, 3, 300, 150, alpha=0.05, m=16)
    assert ttest_mde(0.02, 10, 300, 150, alpha=0.05, m=16) < base
    assert ttest_mde(0.02, 3, 300, 150, alpha=0.05, m=1) < base
