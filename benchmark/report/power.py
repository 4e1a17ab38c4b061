"""Power of the report's tests: the smallest difference each can detect with 80 % power.

Two tests draw the report's verdicts, and each gets a minimum detectable effect (MDE) for the
design at hand — the number of tasks or outer folds, α, the Holm correction, the observed
variance:

- **Across tasks** (leaderboard "p vs leader"): the Wilcoxon signed-rank test over N tasks,
  Holm-corrected over the m pairs.  :func:`wilcoxon_mde` finds by simulation the mean paired
  difference δ that the test rejects in 80 % of designs when the N differences are normal with
  the observed sd, at Holm's first step α/m (the level a pair must pass when no other pair is
  significant).  With N ≤ 5 tasks the smallest attainable two-sided p-value, 2/2^N, can be above
  α/m: then no difference at all is detectable (MDE = ∞).
- **On one task** (per-task shading): the Nadeau–Bengio corrected resampled t-test over J outer
  folds against the best, Holm over k − 1 comparisons.  :func:`ttest_mde` solves the
  noncentral t for 80 % power: δ = ncp · s · √(1/J + n_test/n_train), with s the observed sd of
  the fold differences and df = J − 1.

``tests/test_power.py`` checks both against simulated designs with a known effect.
"""

from __future__ import annotations

import functools
import math

import numpy as np

POWER = 0.8
N_SIM = 4000


def ttest_mde(sd: float, n_folds: int, n_train: float, n_test: float, *, alpha: float, m: int = 1, power: float = POWER) -> float:
    """Smallest mean fold difference the corrected t-test detects with ``power`` at α/m (two-sided)."""
    from scipy import optimize, stats

    if n_folds < 2 or not (sd >= 0) or not math.isfinite(sd):
        return math.inf
    if sd == 0:
        return 0.0
    df = n_folds - 1
    crit = stats.t.ppf(1 - alpha / (2 * max(m, 1)), df)

    def pw(ncp: float) -> float:
        upper, lower = float(stats.nct.sf(crit, df, ncp)), float(stats.nct.cdf(-crit, df, ncp))
        if math.isnan(upper):  # scipy gives NaN far in the tails
            upper = 1.0 if ncp > crit else 0.0
        return upper + (0.0 if math.isnan(lower) else lower) - power

    hi = 1.0
    while pw(hi) < 0:
        hi *= 2
        if hi > 1e6:
            return math.inf
    ncp = optimize.brentq(pw, 0.0, hi, xtol=1e-10)
    return float(ncp * sd * math.sqrt(1.0 / n_folds + n_test / n_train))


@functools.lru_cache(maxsize=256)
def _signed_rank_reject(n: int, level: float) -> np.ndarray:
    """Boolean over W+ = 0 … n(n+1)/2: whether the exact two-sided signed-rank test rejects at ``level``."""
    dist = np.zeros(n * (n + 1) // 2 + 1)
    dist[0] = 1.0
    for r in range(1, n + 1):
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[:-r]
        dist = 0.5 * (dist + shifted)
    cdf = np.cumsum(dist)
    sf = np.cumsum(dist[::-1])[::-1]
    p = np.minimum(1.0, 2 * np.minimum(cdf, sf))
    return p <= level + 1e-12


def wilcoxon_power(effect: float, n: int, *, alpha: float, m: int = 1, n_sim: int = N_SIM, seed: int = 0) -> float:
    """Power of the two-sided signed-rank test at α/m for N(effect, 1) differences (effect in sd units)."""
    reject = _signed_rank_reject(n, alpha / max(m, 1))
    if not reject.any():
        return 0.0
    z = np.random.default_rng(seed).standard_normal((n_sim, n)) + effect
    ranks = np.argsort(np.argsort(np.abs(z), axis=1), axis=1) + 1
    w = np.where(z > 0, ranks, 0).sum(axis=1)
    return float(reject[w].mean())


def wilcoxon_mde(sd: float, n_tasks: int, *, alpha: float, m: int = 1, power: float = POWER, n_sim: int = N_SIM, seed: int = 0) -> float:
    """Smallest mean paired difference (sd of differences ``sd``) the signed-rank test over
    ``n_tasks`` detects with ``power`` at α/m; ∞ when no difference can be detected."""
    if n_tasks < 1 or not math.isfinite(sd) or not _signed_rank_reject(n_tasks, alpha / max(m, 1)).any():
        return math.inf
    if sd == 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while wilcoxon_power(hi, n_tasks, alpha=alpha, m=m, n_sim=n_sim, seed=seed) < power:
        hi *= 2
        if hi > 1e3:
            return math.inf
    for _ in range(30):  # the same random draws for every effect, so power rises with the effect
        mid = 0.5 * (lo + hi)
        if wilcoxon_power(mid, n_tasks, alpha=alpha, m=m, n_sim=n_sim, seed=seed) >= power:
            hi = mid
        else:
            lo = mid
    return float(hi * sd)
