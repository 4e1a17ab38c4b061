"""Statistical comparison of candidates: ranks, tests, effect sizes. No plotting here.

Two settings, as in the literature:

**Across datasets** (block design): ``block`` is a DataFrame with one row per dataset (index =
dataset names), one column per candidate and one aggregated score per cell (NaN = missing).
:func:`rank` runs the whole recipe of Demšar (2006) and returns a frozen :class:`RankResult`:
average ranks, the Friedman test and its Iman–Davenport F correction, the Nemenyi critical
difference and groups, the Bonferroni–Dunn test against a control, pairwise Wilcoxon signed-rank
tests with Holm's correction, the Bayesian signed-rank test with a ROPE (Benavoli et al. 2014,
2017), mean differences with confidence intervals, win/tie/loss counts and bootstrap confidence
intervals for the average ranks.

**On one dataset** (paired fold scores from (repeated) k-fold CV): :func:`corrected_ttest`
(Nadeau & Bengio 2003; Bouckaert & Frank 2004), :func:`bayesian_correlated_ttest` (Corani &
Benavoli 2015; Benavoli et al. 2017) and :func:`compare_to_best` (every candidate against the best,
Holm-corrected).

Conventions
-----------
* Rank 1 is best.  Ties get the average of the ranks they span.
* ``greater_is_better=False`` flips the direction for ranks, wins and the Bayesian
  probabilities; mean differences are always reported in the original units as ``a - b``.
* Bayesian results use baycomp's names: ``p_left`` = P(first candidate better),
  ``p_rope`` = P(practically equivalent), ``p_right`` = P(second candidate better).
* Significance: a p-value rejects when it is *below* ``alpha``; two average ranks differ
  significantly when they differ by *at least* the critical difference (Demšar 2006, §3.2.2).

Missing results (:func:`rank` ``missing=``)
-------------------------------------------
``"drop"``
    Candidates with no result at all are removed first; then every dataset on which any
    remaining candidate has no result is dropped.
``"last"``
    A missing cell ranks last on its dataset (several missing cells tie for last); a dataset on
    which every candidate failed is dropped (it carries no information).  Wilcoxon tests
    and win/tie/loss counts treat the failure as worse than any score on that dataset; mean
    differences, their CIs and the Bayesian signed-rank test need magnitudes and use only the
    datasets on which both candidates of the pair have a score.
``"baseline"``
    A missing cell takes the ``baseline`` candidate's score on that dataset (the failure counts as
    "no better than the baseline").  Datasets on which the baseline itself is missing are dropped.

The policy used, the dropped datasets/candidates and the missing cells are kept in the result.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from benchmark.errors import InputError
from benchmark.serialize import jsonable

log = logging.getLogger(__name__)

MISSING_POLICIES = ("drop", "last", "baseline")
DEFAULT_ROPE = 0.01
BAYES_SAMPLES = 20_000
#: Posterior draws × datasets × pairs the Bayesian signed-rank tests of one :func:`rank` call
#: may use by default; beyond it each pair gets fewer draws (never fewer than BAYES_MIN_SAMPLES).
BAYES_WORK = 200_000_000
BAYES_MIN_SAMPLES = 500
SIGNED_RANK_PRIOR = 0.5  # weight of the pseudo-observation at 0 (Benavoli et al. 2017, §4.1)


# --------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's chi-square over average ranks: ``statistic`` ~ chi2(``df`` = k - 1)."""

    statistic: float
    p_value: float
    df: int


@dataclass(frozen=True)
class ImanDavenportResult:
    """Iman–Davenport's F = (N-1)·χ²/(N(k-1) - χ²) ~ F(``df1`` = k-1, ``df2`` = (k-1)(N-1))."""

    statistic: float
    p_value: float
    df1: int
    df2: int


@dataclass(frozen=True)
class NemenyiResult:
    """Nemenyi critical difference ``cd = q_alpha·sqrt(k(k+1)/(6N))``.

    ``groups``: maximal runs (in rank order) of two or more candidates whose average ranks all
    differ by less than ``cd``, i.e. the bars of a critical-difference diagram.  A candidate in no
    group differs significantly from every other candidate.
    """

    cd: float
    q_alpha: float
    alpha: float
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ControlComparison:
    """One candidate against the control (z = (R_i - R_control)/SE, two-sided p-values)."""

    candidate: str
    rank_diff: float
    z: float
    p_value: float
    p_bonferroni: float
    p_holm: float
    significant: bool  # |rank_diff| >= Bonferroni–Dunn CD


@dataclass(frozen=True)
class BonferroniDunnResult:
    """Bonferroni–Dunn test of every candidate against ``control`` (Demšar 2006, §3.2.2)."""

    control: str
    cd: float
    q_alpha: float
    alpha: float
    comparisons: tuple[ControlComparison, ...]


@dataclass(frozen=True)
class PairwiseComparison:
    """One pair of candidates across datasets; ``a`` has the better (lower) average rank.

    ``p_value``/``statistic``: Wilcoxon signed-rank test (zeros split, Demšar 2006 §3.1.3);
    ``p_holm``: Holm-adjusted over all pairs; ``reject``: ``p_holm < alpha``.
    ``mean_diff`` [``ci_low``, ``ci_high``]: mean of ``score_a - score_b`` over datasets with a
    t confidence interval at level 1 - alpha.  ``wins``/``ties``/``losses`` count datasets from
    ``a``'s side.  ``rank_diff``, ``p_nemenyi``, ``nemenyi_significant``: the Nemenyi view.
    """

    a: str
    b: str
    statistic: float
    p_value: float
    p_holm: float
    reject: bool
    mean_diff: float
    ci_low: float
    ci_high: float
    wins: int
    ties: int
    losses: int
    n: int
    rank_diff: float
    p_nemenyi: float
    nemenyi_significant: bool


@dataclass(frozen=True)
class BayesResult:
    """Posterior probabilities: ``p_left`` = P(a better), ``p_rope`` = P(|diff| <= rope),
    ``p_right`` = P(b better)."""

    a: str
    b: str
    p_left: float
    p_rope: float
    p_right: float
    rope: float


@dataclass(frozen=True)
class TTestResult:
    """Nadeau–Bengio corrected resampled t-test on ``d = scores_a - scores_b``.

    ``statistic = mean(d) / sqrt((1/J + n_test/n_train)·var(d))`` with J = number of folds,
    ``df = J - 1``, ``p_value`` two-sided; ``se`` is the corrected standard error.
    """

    statistic: float
    df: int
    p_value: float
    mean_diff: float
    std_diff: float
    se: float
    n_folds: int


@dataclass(frozen=True)
class CorrelatedBayesResult:
    """Bayesian correlated t-test: posterior of the mean difference is Student-t(``df``,
    ``mean``, ``scale``); ``p_left`` = P(a better), ``p_rope``, ``p_right`` = P(b better)."""

    p_left: float
    p_rope: float
    p_right: float
    rope: float
    mean: float
    scale: float
    df: int


@dataclass(frozen=True)
class RankResult:
    """Everything :func:`rank` found; renderers (``bench rank``'s text, JSON, HTML, CD diagram) read only this.

    ``mean_ranks``: name → average rank, best first.  ``rank_ci``: name → (low, high) bootstrap
    percentile interval at level 1 - alpha (empty when ``n_boot == 0``).  ``mean_scores``: name →
    mean score over the datasets used.  ``pairwise``/``bayes``: one record per pair, ``a`` better
    ranked.  ``missing``: the policy used; ``missing_cells``: (dataset, candidate) pairs that were
    NaN in the input; ``dropped_datasets``/``dropped_candidates``: what the policy removed.
    """

    mean_ranks: dict[str, float]
    rank_ci: dict[str, tuple[float, float]]
    mean_scores: dict[str, float]
    friedman: FriedmanResult
    iman_davenport: ImanDavenportResult
    nemenyi: NemenyiResult
    bonferroni_dunn: BonferroniDunnResult
    pairwise: tuple[PairwiseComparison, ...]
    bayes: tuple[BayesResult, ...]
    n_datasets: int
    n_candidates: int
    greater_is_better: bool
    alpha: float
    missing: str
    baseline: str | None
    datasets: tuple[str, ...]
    missing_cells: tuple[tuple[str, str], ...] = ()
    dropped_datasets: tuple[str, ...] = ()
    dropped_candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def filled_cells(self) -> tuple[tuple[str, str], ...]:
        """(dataset, candidate) cells that took the baseline's score (``missing="baseline"``)."""
        if self.missing != "baseline":
            return ()
        used = set(self.datasets)
        return tuple(c for c in self.missing_cells if c[0] in used)

    @property
    def candidates(self) -> list[str]:
        """Candidate names, best average rank first."""
        return list(self.mean_ranks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN/inf become ``None``).

        Keys: ``mean_ranks``, ``rank_ci``, ``mean_scores``, ``friedman`` (statistic, p_value, df),
        ``iman_davenport`` (statistic, p_value, df1, df2), ``nemenyi`` (cd, q_alpha, alpha,
        groups), ``bonferroni_dunn``, ``pairwise`` (a, b, p_value, p_holm, reject, ...),
        ``bayesian_signed_rank``, ``n_datasets``, ``n_candidates``, ``greater_is_better``,
        ``alpha``, ``missing_policy``, ``missing`` (policy, baseline, cells, filled,
        dropped_datasets, dropped_candidates),
        ``datasets``, ``notes``.
        """
        out: dict[str, Any] = {
            "mean_ranks": dict(self.mean_ranks),
            "rank_ci": {k: list(v) for k, v in self.rank_ci.items()},
            "mean_scores": dict(self.mean_scores),
            "friedman": asdict(self.friedman),
            "iman_davenport": asdict(self.iman_davenport),
            "nemenyi": {**asdict(self.nemenyi), "groups": [list(g) for g in self.nemenyi.groups]},
            "bonferroni_dunn": asdict(self.bonferroni_dunn),
            "pairwise": [asdict(p) for p in self.pairwise],
            "bayesian_signed_rank": [asdict(b) for b in self.bayes],
            "n_datasets": self.n_datasets,
            "n_candidates": self.n_candidates,
            "greater_is_better": self.greater_is_better,
            "alpha": self.alpha,
            "missing_policy": self.missing,
            "missing": {
                "policy": self.missing,
                "baseline": self.baseline,
                "cells": [list(c) for c in self.missing_cells],
                "filled": [list(c) for c in self.filled_cells],
                "dropped_datasets": list(self.dropped_datasets),
                "dropped_candidates": list(self.dropped_candidates),
            },
            "datasets": list(self.datasets),
            "notes": list(self.notes),
        }
        return jsonable(out)


# --------------------------------------------------------------------------------------------
# Small building blocks
# --------------------------------------------------------------------------------------------


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, same order as the input.

    With sorted p-values p_(1) <= ... <= p_(m): adj_(i) = max_{j<=i} min(1, (m - j + 1)·p_(j)).
    Reject hypothesis i at level alpha iff ``adj[i] < alpha``.  NaN entries stay NaN and do not
    count towards m.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def rank_matrix(scores: np.ndarray, *, greater_is_better: bool = True) -> np.ndarray:
    """Ranks within each row of ``scores`` (shape (N, k)): 1 = best, ties averaged.

    NaN is not allowed here; :func:`rank` resolves missing cells first (``-inf``/``+inf``
    sentinels rank last).
    """
    x = np.asarray(scores, dtype=float)
    return sps.rankdata(-x if greater_is_better else x, axis=1)


def friedman(ranks: np.ndarray, *, tie_correction: bool = False) -> FriedmanResult:
    """Friedman test from a rank matrix (shape (N datasets, k candidates)).

    χ²_F = 12N/(k(k+1))·[Σ_j R_j² - k(k+1)²/4] with R_j the average ranks (Demšar 2006, eq. 1).
    ``tie_correction=True`` divides by 1 - Σ(t³ - t)/(N·k·(k²-1)) over tie groups, as
    ``scipy.stats.friedmanchisquare`` does; Demšar's worked example uses no correction.
    When every dataset is one big tie the statistic is 0 and the p-value 1.
    """
    r = np.asarray(ranks, dtype=float)
    n, k = r.shape
    mean = r.mean(axis=0)
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(mean**2) - k * (k + 1) ** 2 / 4.0)
    if tie_correction:
        ties = sum(_tie_term(row) for row in r)
        denom = 1.0 - ties / (n * k * (k * k - 1))
        chi2 = chi2 / denom if denom > 0 else 0.0
    chi2 = max(float(chi2), 0.0)
    return FriedmanResult(chi2, float(sps.chi2.sf(chi2, k - 1)), k - 1)


def _tie_term(row: np.ndarray) -> float:
    _, counts = np.unique(row, return_counts=True)
    return float(np.sum(counts.astype(float) ** 3 - counts))


def iman_davenport(chi2: float, n: int, k: int) -> ImanDavenportResult:
    """Iman & Davenport (1980) F_F = (N-1)χ²_F / (N(k-1) - χ²_F) on (k-1, (k-1)(N-1)) df.

    Perfect agreement (χ²_F = N(k-1): every dataset ranks the candidates in the same order,
    without ties) gives F = inf, where the F approximation breaks down; p is then the exact
    probability of perfect agreement under the null, (k!)^-(N-1) (e.g. 1/36 for N = k = 3, not 0).
    """
    df1, df2 = k - 1, (k - 1) * (n - 1)
    denom = n * (k - 1) - chi2
    if denom <= 1e-12 * max(1.0, n * (k - 1)):
        return ImanDavenportResult(math.inf, float(math.exp(-(n - 1) * math.lgamma(k + 1))), df1, df2)
    f = (n - 1) * chi2 / denom
    return ImanDavenportResult(float(f), float(sps.f.sf(f, df1, df2)), df1, df2)


def rank_se(k: int, n: int) -> float:
    """Standard error of a difference of average ranks: sqrt(k(k+1)/(6N))."""
    return math.sqrt(k * (k + 1) / (6.0 * n))


@functools.lru_cache(maxsize=256)
def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Nemenyi critical value q_alpha = studentized range quantile (k, ∞ df) / √2.

    Reproduces Demšar (2006), Table 5(a): q_0.05 = 1.960, 2.343, 2.569, ... for k = 2, 3, 4, ...
    """
    _check_alpha(alpha)
    if k < 2:
        raise InputError(f"Nemenyi test needs at least 2 candidates, got {k}")
    if k == 2:
        return float(sps.norm.isf(alpha / 2))
    return float(sps.studentized_range.isf(alpha, k, np.inf) / math.sqrt(2.0))


def nemenyi_p(rank_diff: float, k: int, n: int) -> float:
    """Nemenyi p-value of a difference of average ranks (studentized range, ∞ df)."""
    q = abs(rank_diff) / rank_se(k, n) * math.sqrt(2.0)
    if k == 2:
        return float(2 * sps.norm.sf(q / math.sqrt(2.0)))
    return float(min(1.0, max(0.0, sps.studentized_range.sf(q, k, np.inf))))


def bonferroni_dunn_q(k: int, alpha: float = 0.05) -> float:
    """Bonferroni–Dunn critical value z_{1 - alpha/(2(k-1))} (Demšar 2006, Table 5(b))."""
    _check_alpha(alpha)
    return float(sps.norm.isf(alpha / (2 * max(k - 1, 1))))


def nemenyi_groups(mean_ranks: dict[str, float], cd: float) -> tuple[tuple[str, ...], ...]:
    """Maximal runs (in rank order) of >= 2 candidates whose ranks span less than ``cd``."""
    names = sorted(mean_ranks, key=lambda c: mean_ranks[c])
    r = [mean_ranks[c] for c in names]
    groups: list[tuple[str, ...]] = []
    last_end = -1
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and r[j + 1] - r[i] < cd:
            j += 1
        if j > i and j > last_end:
            groups.append(tuple(names[i : j + 1]))
            last_end = j
    return tuple(groups)


def nemenyi(mean_ranks: dict[str, float], n: int, *, alpha: float = 0.05) -> NemenyiResult:
    """Nemenyi CD and groups from average ranks over ``n`` datasets."""
    k = len(mean_ranks)
    q = nemenyi_q(k, alpha)
    cd = q * rank_se(k, n)
    return NemenyiResult(cd, q, alpha, nemenyi_groups(mean_ranks, cd))


def bonferroni_dunn(
    mean_ranks: dict[str, float], n: int, *, control: str, alpha: float = 0.05
) -> BonferroniDunnResult:
    """Every candidate against ``control``: z-test on rank differences (Demšar 2006, §3.2.2).

    Returns per candidate z, two-sided p, Bonferroni (×(k-1)) and Holm adjusted p; ``cd`` is the
    Bonferroni–Dunn critical difference q·SE with q = z_{1-alpha/(2(k-1))}.
    """
    k = len(mean_ranks)
    se = rank_se(k, n)
    q = bonferroni_dunn_q(k, alpha)
    cd = q * se
    others = [c for c in mean_ranks if c != control]
    diffs = np.array([mean_ranks[c] - mean_ranks[control] for c in others])
    z = diffs / se
    p = 2 * sps.norm.sf(np.abs(z))
    p_holm = holm(p)
    comps = tuple(
        ControlComparison(
            c, float(d), float(zz), float(pp), float(min(1.0, pp * (k - 1))), float(ph),
            bool(abs(d) >= cd - 1e-12),
        )
        for c, d, zz, pp, ph in zip(others, diffs, z, p, p_holm, strict=True)
    )
    return BonferroniDunnResult(control, cd, q, alpha, comps)


def wilcoxon_signed_rank(diffs: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test on paired differences; returns (T, p).

    Zero differences have their ranks split evenly between R+ and R- (Demšar 2006, §3.1.3;
    ``scipy.stats.wilcoxon(zero_method="zsplit")``); T = min(R+, R-).  Differences are rounded
    to 12 significant digits first so that floating-point noise does not break ties.
    All-zero differences give (T, 1.0).
    """
    d = _round_rel(np.asarray(diffs, dtype=float))
    n = d.size
    if n == 0:
        return math.nan, math.nan
    if np.all(d == 0):
        return n * (n + 1) / 4.0, 1.0
    r = sps.rankdata(np.abs(d))
    if n <= 13 and (np.any(d == 0) or np.unique(r).size < n):
        return _signed_rank_exact_with_ties(d, r)
    res = sps.wilcoxon(d, zero_method="zsplit")
    return float(res.statistic), float(res.pvalue)


def _signed_rank_exact_with_ties(d: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Exact sign-flip distribution of R+ with mid-ranks and split zeros (small n).

    Same result as scipy's exhaustive permutation test for n <= 13, without its cost: mid-ranks
    are multiples of 1/2, so the distribution of 2·R+ is a convolution over integers.
    """
    r2 = np.rint(2 * r).astype(int)
    zero = d == 0
    dist = np.zeros(1, dtype=float)
    dist[0] = 1.0
    for v in r2[~zero]:
        nxt = np.zeros(dist.size + v)
        nxt[: dist.size] += 0.5 * dist
        nxt[v:] += 0.5 * dist
        dist = nxt
    obs = int(r2[d > 0].sum())  # zeros add the same constant to observed and null values
    p = min(1.0, 2 * min(dist[: obs + 1].sum(), dist[obs:].sum()))
    r_plus = float(r[d > 0].sum() + r[zero].sum() / 2)
    return min(r_plus, float(r.sum()) - r_plus), float(p)


def _round_rel(x: np.ndarray, digits: int = 12) -> np.ndarray:
    finite = np.isfinite(x)
    if not finite.any():
        return x
    scale = float(np.max(np.abs(x[finite])))
    if scale == 0:
        return x
    decimals = digits - int(math.ceil(math.log10(scale)))
    return np.where(finite, np.round(x, decimals), x)


def mean_ci(diffs: np.ndarray, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean of ``diffs`` with a two-sided t confidence interval at level 1 - alpha.

    Returns (mean, low, high); the interval is NaN with fewer than two values.
    """
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return math.nan, math.nan, math.nan
    m = float(d.mean())
    if d.size < 2:
        return m, math.nan, math.nan
    half = float(sps.t.isf(alpha / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return m, m - half, m + half


def bootstrap_rank_ci(
    ranks: np.ndarray, names: Sequence[str], *, n_boot: int = 1000, alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CI (level 1 - alpha) of each average rank, resampling datasets.

    ``ranks`` has shape (N, k).  The per-dataset ranks are kept fixed; the datasets are drawn
    with replacement ``n_boot`` times.  Returns name → (low, high); empty when ``n_boot <= 0``.
    """
    if n_boot <= 0:
        return {}
    r = np.asarray(ranks, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, r.shape[0], size=(n_boot, r.shape[0]))
    boot = r[idx].mean(axis=1)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return {c: (float(lo), float(hi)) for c, lo, hi in zip(names, low, high, strict=True)}


def bayesian_signed_rank(
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    rope: float = DEFAULT_ROPE,
    greater_is_better: bool = True,
    prior: float = SIGNED_RANK_PRIOR,
    n_samples: int = BAYES_SAMPLES,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float, float]:
    """Bayesian signed-rank test (Benavoli et al. 2014; 2017 §4) on paired per-dataset scores.

    The differences z_i = a_i - b_i (sign flipped when lower is better) get a Dirichlet-process
    posterior with a pseudo-observation z_0 = 0 of weight ``prior``.  For each posterior draw of
    weights w ~ Dir(prior, 1, ..., 1), θ_left = Σ_ij w_i w_j [z_i + z_j > 2·rope] (a better),
    θ_right = Σ_ij w_i w_j [z_i + z_j < -2·rope] (b better), θ_rope = 1 - θ_left - θ_right
    (boundary cases count half).  Returns (p_left, p_rope, p_right): the fraction of draws in
    which each θ is the largest (baycomp's ``SignedRankTest``).  With ``rope == 0`` the rope
    region is empty and p_rope is 0.  ``n_samples <= 0`` skips the test (NaN probabilities).
    """
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError("bayesian_signed_rank: scores_a and scores_b must be 1-D and equal length")
    if a.size == 0 or n_samples <= 0:
        return math.nan, math.nan, math.nan
    z = np.concatenate([[0.0], (a - b) if greater_is_better else (b - a)])
    order = np.argsort(z, kind="stable")  # sorted, each θ is a sum over prefixes/suffixes
    bounds = _signed_rank_bounds(z[order], 2.0 * rope)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    counts = np.zeros(3)
    block = max(16, min(5000, 2**17 // z.size))  # draws per chunk: the arrays stay in cache
    for start in range(0, n_samples, block):
        size = min(block, n_samples - start)
        g = rng.standard_exponential((size, z.size), dtype=np.float32)  # Dirichlet(1, ..., 1) ...
        g[:, 0] = rng.standard_gamma(prior, size, dtype=np.float32)  # ... with the prior's weight on z_0
        w = g[:, order]  # drawn in data order, so swapping a and b mirrors the result exactly
        w /= w.sum(axis=1, keepdims=True)
        left, right = _signed_rank_thetas(w, *bounds)
        theta = np.column_stack([left, 1.0 - left - right, right])
        if rope <= 0:
            theta[:, 1] = -1.0
        counts += np.bincount(np.argmax(theta, axis=1), minlength=3)
    p = counts / n_samples
    return float(p[0]), float(p[1]), float(p[2])


def _signed_rank_bounds(z: np.ndarray, thr: float) -> tuple[np.ndarray, ...]:
    """For sorted ``z``: per i, where {j: z_i + z_j > thr} (a suffix) and {j: z_i + z_j < -thr}
    (a prefix) start, and how many pairs sit exactly on each boundary (they count half).

    O(n log n) by binary search; a sum within 12 significant digits of a boundary counts as on
    it (as :func:`_round_rel` would round it), so floating-point noise does not break ties.
    """
    scale = 2.0 * float(np.max(np.abs(z), initial=0.0))
    tol = 0.5 * 10.0 ** (int(math.ceil(math.log10(scale))) - 12) if scale > 0 else 0.0
    hi_tie = np.searchsorted(z, thr - z - tol, side="left")  # first j with z_i + z_j ≥ thr (within tol)
    hi_start = np.searchsorted(z, thr - z + tol, side="right")  # first j with z_i + z_j > thr
    lo_end = np.searchsorted(z, -thr - z - tol, side="left")  # count of j with z_i + z_j < -thr
    lo_tie = np.searchsorted(z, -thr - z + tol, side="right")  # ... plus those on -thr
    return hi_start, hi_tie, lo_end, lo_tie


def _signed_rank_thetas(
    w: np.ndarray, hi_start: np.ndarray, hi_tie: np.ndarray, lo_end: np.ndarray,
    lo_tie: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """θ_left = Σ_ij w_i w_j [z_i + z_j > thr] (+ half on ties) and θ_right likewise, for each
    row of ``w`` (shape (S, n), columns in sorted-z order), in O(S·n) via prefix sums (one
    gather per side when no pair sits on a boundary)."""
    cum = np.zeros((w.shape[0], w.shape[1] + 1), dtype=w.dtype)
    np.cumsum(w, axis=1, out=cum[:, 1:])
    total = cum[:, -1]
    c_hi = cum[:, hi_start] if np.array_equal(hi_start, hi_tie) else 0.5 * (cum[:, hi_start] + cum[:, hi_tie])
    c_lo = cum[:, lo_end] if np.array_equal(lo_end, lo_tie) else 0.5 * (cum[:, lo_end] + cum[:, lo_tie])
    left = total * total - np.einsum("ij,ij->i", w, c_hi)  # Σ_i w_i (total - c_hi_i), Σ_i w_i = total
    return left, np.einsum("ij,ij->i", w, c_lo)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must lie strictly between 0 and 1, got {alpha}")


# --------------------------------------------------------------------------------------------
# One dataset: paired fold scores
# --------------------------------------------------------------------------------------------


def _paired(scores_a: Any, scores_b: Any, n_train: float, n_test: float) -> np.ndarray:
    a = np.asarray(scores_a, dtype=float).ravel()
    b = np.asarray(scores_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise InputError(f"paired fold scores differ in length ({a.size} vs {b.size})")
    if a.size < 2:
        raise InputError(f"need at least 2 paired fold scores, got {a.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("fold scores contain NaN or inf; drop failed folds from both sides")
    if not (n_train > 0 and n_test > 0):
        raise InputError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    return a - b


def corrected_ttest(
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    n_train: float,
    n_test: float,
) -> TTestResult:
    """Nadeau & Bengio (2003) corrected resampled t-test for paired (repeated) CV fold scores.

    ``scores_a``, ``scores_b``: shape (J,), one score per fold (J = k·r for r repetitions of
    k-fold CV; Bouckaert & Frank 2004).  ``n_train``/``n_test``: training/test set sizes of one
    fold.  t = mean(d) / sqrt((1/J + n_test/n_train)·s²), s² the sample variance (ddof 1) of
    d = a - b, df = J - 1, two-sided p-value.  Zero variance gives t = 0, p = 1 when the mean
    is 0 and t = ±inf, p = 0 otherwise.
    """
    d = _paired(scores_a, scores_b, n_train, n_test)
    j = d.size
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    se = math.sqrt((1.0 / j + n_test / n_train) * var)
    if se == 0.0 or var <= 1e-30 * max(1.0, mean * mean):
        stat = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0 else 0.0
        return TTestResult(stat, j - 1, p, mean, math.sqrt(max(var, 0.0)), 0.0, j)
    t = mean / se
    p = float(2 * sps.t.sf(abs(t), j - 1))
    return TTestResult(float(t), j - 1, p, mean, math.sqrt(var), se, j)


def bayesian_correlated_ttest(
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    n_train: float,
    n_test: float,
    rope: float = DEFAULT_ROPE,
    greater_is_better: bool = True,
) -> CorrelatedBayesResult:
    """Bayesian correlated t-test (Corani & Benavoli 2015; Benavoli et al. 2017, §3).

    Posterior of the mean difference μ of d = a - b (b - a when lower is better):
    Student-t(df = J-1, loc = mean(d), scale² = (1/J + ρ/(1-ρ))·s²) with ρ = n_test/(n_train +
    n_test), so ρ/(1-ρ) = n_test/n_train (the Nadeau–Bengio correction).  Returns
    p_left = P(μ > rope) (a better), p_rope = P(|μ| <= rope), p_right = P(μ < -rope) (b better).
    """
    d = _paired(scores_a, scores_b, n_train, n_test)
    if not greater_is_better:
        d = -d
    j = d.size
    mean = float(d.mean())
    scale = math.sqrt((1.0 / j + n_test / n_train) * float(d.var(ddof=1)))
    if scale == 0.0:
        left = float(mean > rope)
        right = float(mean < -rope)
    else:
        left = float(sps.t.sf(rope, j - 1, loc=mean, scale=scale))
        right = float(sps.t.cdf(-rope, j - 1, loc=mean, scale=scale))
    return CorrelatedBayesResult(left, max(0.0, 1.0 - left - right), right, rope, mean, scale, j - 1)


def compare_to_best(
    fold_scores: pd.DataFrame,
    *,
    n_train: float,
    n_test: float,
    greater_is_better: bool = True,
    alpha: float = 0.05,
    rope: float | None = None,
) -> pd.DataFrame:
    """Every candidate against the best one on a single dataset, Holm-corrected.

    ``fold_scores``: rows = folds (the same folds for every candidate), columns = candidates.
    The best candidate has the best mean.  Each other candidate is compared with it by
    :func:`corrected_ttest`; the k-1 p-values are Holm-adjusted.

    Returns a DataFrame indexed by candidate (best first) with columns ``mean``, ``diff``
    (candidate mean - best mean), ``statistic`` (t of best - candidate), ``df``, ``p_value``,
    ``p_holm``, ``worse`` (significantly worse than the best at ``alpha``) and ``is_best``; with
    ``rope`` also ``p_best_better``, ``p_rope``, ``p_candidate_better`` from
    :func:`bayesian_correlated_ttest`.  The best row has NaN tests and ``worse = False``.
    """
    _check_alpha(alpha)
    if fold_scores.shape[1] < 2:
        raise InputError("compare_to_best needs at least two candidate columns")
    if fold_scores.isna().any().any():
        bad = [str(c) for c in fold_scores.columns[fold_scores.isna().any()]]
        raise InputError(f"fold scores missing for {bad}; drop failed folds for all candidates")
    means = fold_scores.mean()
    order = means.sort_values(ascending=not greater_is_better, kind="stable").index
    best = order[0]
    rows = []
    for c in order:
        row = {"mean": float(means[c]), "diff": float(means[c] - means[best]), "is_best": c == best}
        if c != best:
            t = corrected_ttest(fold_scores[best], fold_scores[c], n_train=n_train, n_test=n_test)
            row.update(statistic=t.statistic, df=t.df, p_value=t.p_value)
            if rope is not None:
                bt = bayesian_correlated_ttest(
                    fold_scores[best], fold_scores[c], n_train=n_train, n_test=n_test,
                    rope=rope, greater_is_better=greater_is_better,
                )
                row.update(p_best_better=bt.p_left, p_rope=bt.p_rope, p_candidate_better=bt.p_right)
        rows.append(row)
    out = pd.DataFrame(rows, index=pd.Index(order, name="candidate"))
    out["p_holm"] = holm(out["p_value"].to_numpy())
    sign = 1.0 if greater_is_better else -1.0
    out["worse"] = (out["p_holm"] < alpha) & (sign * out["diff"] < 0)
    cols = ["mean", "diff", "statistic", "df", "p_value", "p_holm", "worse", "is_best"]
    extra = ["p_best_better", "p_rope", "p_candidate_better"] if rope is not None else []
    return out[cols + extra]


# --------------------------------------------------------------------------------------------
# Across datasets: the whole recipe
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    block: pd.DataFrame  # datasets × candidates after the policy; NaN only under "last"
    missing_cells: tuple[tuple[str, str], ...]
    dropped_datasets: tuple[str, ...]
    dropped_candidates: tuple[str, ...]


def _validate_block(block: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(block, pd.DataFrame):
        raise InputError("block must be a DataFrame (rows = datasets, columns = candidates)")
    dup_c = block.columns[block.columns.duplicated()].unique().tolist()
    if dup_c:
        raise InputError(f"duplicate candidate names {dup_c}; give every column a unique name")
    dup_d = block.index[block.index.duplicated()].unique().tolist()
    if dup_d:
        raise InputError(f"duplicate dataset names {dup_d}; give every row a unique name")
    if block.shape[1] < 2:
        raise InputError(f"need at least 2 candidates (columns), got {block.shape[1]}")
    try:
        x = block.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"block has non-numeric cells ({exc}); scores must be numbers") from exc
    if np.isinf(x.to_numpy()).any():
        raise InputError("block has infinite scores; use NaN for missing results")
    x.index = x.index.map(str)
    x.columns = x.columns.map(str)
    return x


def _prepare(block: pd.DataFrame, missing: str, baseline: str | None) -> _Prepared:
    """Apply the missing-result policy (see the module docstring)."""
    if missing not in MISSING_POLICIES:
        raise InputError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    nan = block.isna()
    rows, cols = np.nonzero(nan.to_numpy())
    cells = tuple((str(block.index[i]), str(block.columns[j])) for i, j in zip(rows, cols, strict=True))
    dropped_c: list[str] = []
    if missing == "drop":
        dropped_c = [c for c in block.columns if nan[c].all()]
        block = block.drop(columns=dropped_c)
        keep = ~block.isna().any(axis=1)
    elif missing == "baseline":
        if baseline is None or baseline not in block.columns:
            raise InputError(
                f"missing='baseline' needs a baseline candidate (--baseline NAME), one of "
                f"{list(block.columns)}; got {baseline!r}"
            )
        keep = block[baseline].notna()
        block = block.apply(lambda col: col.fillna(block[baseline]))
    else:
        keep = pd.Series(True, index=block.index)
        keep &= block.notna().any(axis=1)  # a dataset where everything failed says nothing
    dropped_d = tuple(block.index[~keep])
    if dropped_d or dropped_c:
        log.info("missing=%r: dropped %d dataset(s) %s and %d candidate(s) %s",
                    missing, len(dropped_d), list(dropped_d), len(dropped_c), dropped_c)
    return _Prepared(block.loc[keep], cells, dropped_d, tuple(dropped_c))


def _ranked_scores(block: pd.DataFrame, greater_is_better: bool) -> np.ndarray:
    """Scores with missing cells replaced by a value worse than any other (for "last")."""
    sentinel = -np.inf if greater_is_better else np.inf
    return block.fillna(sentinel).to_numpy(dtype=float)


def _pair_diffs(a: np.ndarray, b: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """(oriented differences for ranks/wins with failures as huge losses, complete-pair mask).

    ``sign`` orients differences so that positive means ``a`` is better.
    """
    both = ~np.isnan(a) & ~np.isnan(b)
    d = sign * (a - b)
    big = 2.0 * float(np.max(np.abs(d[both]), initial=0.0)) + 1.0
    out = np.where(both, d, 0.0)
    out = np.where(np.isnan(a) & ~np.isnan(b), -big, out)
    out = np.where(~np.isnan(a) & np.isnan(b), big, out)
    return _round_rel(out), both


def bayes_draws(n_pairs: int, n_datasets: int, requested: int | None = None) -> int:
    """Posterior draws per pair for :func:`rank`: ``requested`` when given (0 skips the test),
    else :data:`BAYES_SAMPLES` cut so that all pairs together stay within :data:`BAYES_WORK`
    (the Monte Carlo error of a probability is at most 0.5/sqrt(draws): ±0.022 at 500)."""
    if requested is not None:
        return max(int(requested), 0)
    work = max(n_pairs, 1) * (n_datasets + 1)
    return int(min(BAYES_SAMPLES, max(BAYES_MIN_SAMPLES, BAYES_WORK // work)))


def _pairwise(
    block: pd.DataFrame, order: list[str], mean_ranks: dict[str, float], *, sign: float,
    alpha: float, rope: float, bayes_samples: int, seed: int, progress: Any = None,
) -> tuple[tuple[PairwiseComparison, ...], tuple[BayesResult, ...]]:
    n, k = block.shape
    pairs = [(order[i], order[j]) for i in range(k) for j in range(i + 1, k)]
    raw: list[dict[str, Any]] = []
    bayes: list[BayesResult] = []
    rngs = np.random.default_rng(seed).spawn(len(pairs)) if pairs else []
    for (a, b), rng in zip(pairs, rngs, strict=True):
        xa, xb = block[a].to_numpy(float), block[b].to_numpy(float)
        d, both = _pair_diffs(xa, xb, sign)
        stat, p = wilcoxon_signed_rank(d)
        m, lo, hi = mean_ci(xa[both] - xb[both], alpha=alpha)
        rdiff = mean_ranks[b] - mean_ranks[a]
        raw.append(dict(
            a=a, b=b, statistic=stat, p_value=p, mean_diff=m, ci_low=lo, ci_high=hi,
            wins=int((d > 0).sum()), ties=int((d == 0).sum()), losses=int((d < 0).sum()),
            n=int(d.size), rank_diff=rdiff, p_nemenyi=nemenyi_p(rdiff, k, n),
        ))
        pl, pr_, pg = bayesian_signed_rank(
            xa[both], xb[both], rope=rope, greater_is_better=sign > 0, n_samples=bayes_samples,
            seed=rng,
        )
        bayes.append(BayesResult(a, b, pl, pr_, pg, rope))
        if progress is not None:
            progress(len(bayes), len(pairs))
    p_holm = holm([r["p_value"] for r in raw])
    cd = nemenyi_q(k, alpha) * rank_se(k, n)
    recs = tuple(
        PairwiseComparison(
            **r, p_holm=float(ph), reject=bool(ph < alpha),
            nemenyi_significant=bool(r["rank_diff"] >= cd - 1e-12),
        )
        for r, ph in zip(raw, p_holm, strict=True)
    )
    return recs, tuple(bayes)


def rank(
    block: pd.DataFrame,
    *,
    greater_is_better: bool = True,
    alpha: float = 0.05,
    missing: str = "drop",
    control: str | None = None,
    baseline: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    rope: float = DEFAULT_ROPE,
    bayes_samples: int | None = None,
    progress: Any = None,
) -> RankResult:
    """Rank candidates across datasets and test the differences (Demšar 2006 recipe).

    ``block``: DataFrame, index = dataset names (N rows), columns = candidate names (k), cells =
    one aggregated score per dataset and candidate, NaN where the candidate has no result.
    ``missing``: "drop" | "last" | "baseline" (see the module docstring); ``baseline`` names the
    candidate whose scores fill gaps under "baseline".  ``control``: the Bonferroni–Dunn control
    (default: the best-ranked candidate).  ``rope``: half-width of the region of practical
    equivalence for the Bayesian signed-rank test, in score units.  ``n_boot``: bootstrap
    resamples for the rank CIs (0 = none).  ``bayes_samples``: posterior draws per pair of the
    Bayesian test (0 skips it; default :func:`bayes_draws`: fewer for many pairs, with a note).
    ``progress``: called as ``progress(done, total)`` after each pair.

    Raises :class:`InputError` for fewer than 2 candidates or 2 usable datasets, duplicate names,
    non-numeric or infinite scores, an unknown control/baseline.
    """
    _check_alpha(alpha)
    if not (rope >= 0 and math.isfinite(rope)):
        raise InputError(f"rope must be a non-negative number, got {rope}")
    prep = _prepare(_validate_block(block), missing, baseline)
    data = prep.block
    n, k = data.shape
    if k < 2:
        raise InputError(f"need at least 2 candidates with results, got {k}")
    if n < 2:
        dropped = f" (dropped {len(prep.dropped_datasets)})" if prep.dropped_datasets else ""
        raise InputError(
            f"need at least 2 datasets with usable results, {n} left after missing={missing!r}"
            f"{dropped}; add datasets or choose another missing policy (--missing last)"
        )
    ranks = rank_matrix(_ranked_scores(data, greater_is_better), greater_is_better=greater_is_better)
    avg = ranks.mean(axis=0)
    order = [str(data.columns[i]) for i in np.argsort(avg, kind="stable")]
    mean_ranks = {c: float(avg[data.columns.get_loc(c)]) for c in order}
    fr = friedman(ranks)
    if control is None:
        control = order[0]
    elif control not in mean_ranks:
        raise InputError(f"control {control!r} is not a candidate; choose one of {order}")
    n_pairs = k * (k - 1) // 2
    draws = bayes_draws(n_pairs, n, bayes_samples)
    pairwise, bayes = _pairwise(
        data, order, mean_ranks, sign=1.0 if greater_is_better else -1.0, alpha=alpha,
        rope=rope, bayes_samples=draws, seed=seed, progress=progress,
    )
    iman = iman_davenport(fr.statistic, n, k)
    notes: tuple[str, ...] = ()
    if math.isinf(iman.statistic):
        notes += (f"all {n} datasets rank the candidates in the same order: the Iman-Davenport F is infinite "
                  f"and its F approximation says nothing; its p-value is the exact chance of such agreement under "
                  f"the null, (k!)^-(N-1) = {iman.p_value:.3g}",)
    if not iman.p_value < alpha:
        notes += (f"the Iman-Davenport test does not reject equal performance at alpha = {alpha:g};"
                  " treat the post-hoc comparisons as exploratory (Demsar 2006)",)
    if bayes_samples is None and draws < BAYES_SAMPLES:
        notes += (f"Bayesian signed-rank: {draws:,} posterior draws per pair instead of {BAYES_SAMPLES:,} "
                  f"({n_pairs:,} pairs x {n:,} datasets); probabilities within about +-{0.5 / math.sqrt(draws):.2f}",)
    if draws == 0:
        notes += ("Bayesian signed-rank test skipped",)
    ci = bootstrap_rank_ci(ranks, list(map(str, data.columns)), n_boot=n_boot, alpha=alpha, seed=seed)
    return RankResult(
        mean_ranks=mean_ranks,
        rank_ci={c: ci[c] for c in order if c in ci},
        mean_scores={c: float(data[c].mean()) for c in order},
        friedman=fr,
        iman_davenport=iman,
        nemenyi=nemenyi(mean_ranks, n, alpha=alpha),
        bonferroni_dunn=bonferroni_dunn(mean_ranks, n, control=control, alpha=alpha),
        pairwise=pairwise,
        bayes=bayes,
        n_datasets=n,
        n_candidates=k,
        greater_is_better=greater_is_better,
        alpha=alpha,
        missing=missing,
        baseline=baseline,
        datasets=tuple(map(str, data.index)),
        missing_cells=prep.missing_cells,
        dropped_datasets=tuple(map(str, prep.dropped_datasets)),
        dropped_candidates=prep.dropped_candidates,
        notes=notes,
    )
