"""Greedy ensemble selection (Caruana et al. 2004) with the safeguards AutoML systems use: a pure
function of arrays, called by the post-hoc ``ensemble_selection`` job and by anything else that
holds out-of-fold predictions of several configurations on the same rows.

:func:`greedy_selection` takes ``predictions`` (one array per library member, (n,) or (n, k),
aligned with ``y``), ``y`` and a :class:`~benchmark.metrics.Metric` and returns the weights.
Before selecting, :func:`screen_library` drops from the library:

* **constant or near-constant predictors**: a member whose predictions do not vary within any
  validation fold (``groups``) carries no information about the rows; pooled over folds it only
  shifts one fold against another, which a pooled rank metric such as AUC can reward by chance
  (the quick suite gave the constant ``dummy`` a weight of 0.25 that way);
* **members no better than a constant**: the best constant prediction of ``y`` (the class
  frequencies, or the mean) scored the same way is what ``dummy`` can reach at most, so a member
  whose score is not strictly better than it is dropped;
* **members beyond the library cap**: with few validation rows a large library overfits the
  selection; :func:`library_cap` allows 3 members at 100 validation rows, 25 at 10,000 and 100
  at 100,000 (power-law interpolation in between; uncapped above), the anchors of AutoGluon's
  ``max_models_from_num_samples_val``. The members kept are each candidate's best first
  (``labels``), by score, then the rest by score.

Scores are the mean over validation folds (``groups``: which fold validated each row), as each
tuning trial is scored, not one score of the pooled rows (a fold the metric cannot score is left
out). Selection then starts from the best
kept member and adds, with replacement, the member whose addition scores best, for at most
``rounds`` rounds (capped at :data:`MAX_ROUNDS`), and keeps the best-scoring prefix, so it
never scores worse on these predictions than its best kept member. When the screen keeps
nothing, the ensemble is the best single member.

Last, a cross-fitted check (with two or more validation folds): the selection is repeated on
all folds but one and scored on the fold left out, next to that selection's best single
member; when the ensemble does not hold up on average, the result is the best single member.
A gain that exists only on the rows it was selected on is overfitting, and this is the cheap
way to see it (it needs no fits, only the saved predictions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from benchmark.metrics import Metric

DEFAULT_ROUNDS = 25
#: Most greedy rounds a selection may run (more rounds fit the validation rows ever closer).
MAX_ROUNDS = 40
#: AutoGluon's anchors (validation rows, most library members); above the last: no cap.
CAP_POINTS = ((100, 3), (10_000, 25), (100_000, 100))
#: A member whose predictions vary less than this (× the spread of ``y`` for regression,
#: absolute for probabilities) within every validation fold is constant.
CONSTANT_TOL = 1e-6


@dataclass(frozen=True)
class Selection:
    """Chosen members (indices into the library, with repeats) and their weights."""

    members: tuple[int, ...]
    weights: dict[int, float]
    scores: tuple[float, ...]  # validation score after each round (round 0 = best single)
    best_single: int
    best_single_score: float
    score: float
    #: library indices dropped before selecting, with the reason
    #: (``constant``, ``no better than a constant``, ``over the library cap``)
    excluded: dict[int, str] = field(default_factory=dict)
    baseline: float = math.nan  # the best constant prediction's score
    #: the cross-fitted check found the ensemble no better than its best single member on
    #: held-out inner folds, so the selection is that member alone
    fell_back: bool = False


def library_cap(n_rows: int, points: Sequence[tuple[int, int]] = CAP_POINTS) -> int | None:
    """Most library members for ``n_rows`` validation rows (None: no cap)."""
    n = max(int(n_rows), 1)
    if n <= points[0][0]:
        return points[0][1]
    for (n0, m0), (n1, m1) in zip(points, points[1:], strict=False):
        if n <= n1:
            t = (math.log10(n) - math.log10(n0)) / (math.log10(n1) - math.log10(n0))
            return max(m0, min(m1, int(math.floor(10 ** (math.log10(m0) + t * (math.log10(m1) - math.log10(m0)))))))
    return None


def _folds(groups: np.ndarray | None, n: int) -> list[np.ndarray]:
    if groups is None:
        return [np.arange(n)]
    g = np.asarray(groups)
    return [np.flatnonzero(g == v) for v in np.unique(g)]


def _scorer(y: np.ndarray, metric: Metric, n_classes: int, folds: list[np.ndarray]):
    """Oriented score (greater is better; -inf when not finite): mean over the folds."""

    def score(p: np.ndarray) -> float:
        vals = np.asarray([metric.fn(y[f], p[f], n_classes) for f in folds], dtype=float)
        ok = np.isfinite(vals)  # a fold the metric cannot score (one class only) is left out
        return metric.oriented(float(vals[ok].mean())) if ok.any() else -np.inf

    return score


def constant_prediction(y: np.ndarray, n_classes: int) -> np.ndarray:
    """The best constant prediction of ``y``: class frequencies (n, k), or the mean (n,)."""
    if n_classes:
        prior = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes) / len(y)
        return np.tile(prior, (len(y), 1))
    return np.full(len(y), float(np.mean(y)))


def is_constant(pred: np.ndarray, y: np.ndarray, n_classes: int, folds: list[np.ndarray], tol: float = CONSTANT_TOL) -> bool:
    """True when ``pred`` varies by no more than ``tol`` (relative to ``y``'s spread for
    regression) within every fold."""
    scale = 1.0 if n_classes else max(float(np.std(y)), 1e-300)
    return all(float(np.max(np.std(pred[f], axis=0))) <= tol * scale for f in folds if len(f))


def screen_library(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    *,
    n_classes: int,
    groups: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    max_size: int | None = None,
) -> tuple[list[int], dict[int, str], list[float], float]:
    """The library indices kept (best first), those dropped with the reason, every member's
    oriented score, and the oriented score of the best constant prediction."""
    preds = [np.asarray(p, dtype=float) for p in predictions]
    folds = _folds(groups, len(y))
    score = _scorer(y, metric, n_classes, folds)
    singles = [score(p) for p in preds]
    baseline = score(constant_prediction(y, n_classes))
    excluded: dict[int, str] = {}
    for i, p in enumerate(preds):
        if is_constant(p, y, n_classes, folds):
            excluded[i] = "constant"
        elif np.isfinite(baseline) and not singles[i] > baseline + 1e-12:
            excluded[i] = "no better than a constant"
    kept = sorted((i for i in range(len(preds)) if i not in excluded), key=lambda i: (-singles[i], i))
    if labels is not None:  # each candidate's best first, then the rest (both by score)
        seen: set[str] = set()
        firsts = [i for i in kept if not (labels[i] in seen or seen.add(labels[i]))]
        kept = firsts + [i for i in kept if i not in set(firsts)]
    if max_size is not None and len(kept) > max_size:
        for i in kept[max_size:]:
            excluded[i] = "over the library cap"
        kept = sorted(kept[:max_size], key=lambda i: (-singles[i], i))
    return kept, excluded, singles, baseline


def greedy_selection(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    *,
    n_classes: int,
    rounds: int = DEFAULT_ROUNDS,
    groups: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    max_size: int | None | str = "auto",
    screen: bool = True,
    crosscheck: bool = True,
) -> Selection:
    """Select an ensemble from ``predictions`` (each (n,) or (n, k), aligned with ``y``).

    ``groups``: the validation fold of each row (scores are means over folds); ``labels``: each
    member's candidate (the library cap keeps each candidate's best first); ``max_size``: the
    library cap (``"auto"``: :func:`library_cap` of ``len(y)``; None: no cap); ``screen=False``
    selects from the whole library as given; ``crosscheck`` (with two or more ``groups``): keep
    the ensemble only if, selected on all folds but one, it scores at least as well as that
    selection's best single member on the fold left out (mean over folds), else return the best
    single member (``fell_back``). Returns the best prefix of at most ``rounds``
    (≤ :data:`MAX_ROUNDS`) greedy additions; weights are counts / size.
    """
    if not predictions:
        raise ValueError("ensemble selection needs at least one prediction")
    preds = [np.asarray(p, dtype=float) for p in predictions]
    y = np.asarray(y)
    opts = {"n_classes": n_classes, "rounds": rounds, "labels": labels, "max_size": max_size, "screen": screen, "crosscheck": False}
    if crosscheck and groups is not None and len(np.unique(groups)) > 1:
        full = greedy_selection(preds, y, metric, groups=groups, **opts)
        if len(full.weights) > 1 and not _ensemble_holds_up(preds, y, metric, np.asarray(groups), opts):
            single = greedy_selection(preds, y, metric, groups=groups, **{**opts, "rounds": 1})
            return replace(single, fell_back=True)
        return full
    cap = library_cap(len(y)) if max_size == "auto" else max_size
    if screen:
        kept, excluded, singles, baseline = screen_library(preds, y, metric, n_classes=n_classes, groups=groups, labels=labels, max_size=cap)
    else:
        score0 = _scorer(y, metric, n_classes, _folds(groups, len(y)))
        singles, excluded, baseline = [score0(p) for p in preds], {}, math.nan
        kept = sorted(range(len(preds)), key=lambda i: (-singles[i], i))
    score = _scorer(y, metric, n_classes, _folds(groups, len(y)))
    best = kept[0] if kept else int(np.argmax(singles))
    members = [best]
    total = preds[best].copy()
    history = [singles[best]]
    pool = kept if kept else [best]
    for _ in range(max(0, min(rounds, MAX_ROUNDS) - 1)):
        n = len(members)
        cand = [score((total + preds[j]) / (n + 1)) for j in pool]
        j = pool[int(np.argmax(cand))]
        members.append(j)
        total += preds[j]
        history.append(max(cand))
    size = int(np.argmax(history)) + 1  # first best prefix
    chosen = members[:size]
    counts = {i: chosen.count(i) for i in sorted(set(chosen))}
    sign = 1.0 if metric.greater_is_better else -1.0
    return Selection(
        members=tuple(chosen),
        weights={i: c / size for i, c in counts.items()},
        scores=tuple(sign * h for h in history),
        best_single=best,
        best_single_score=sign * singles[best],
        score=sign * history[size - 1],
        excluded=excluded,
        baseline=sign * baseline if np.isfinite(baseline) else math.nan,
    )


def _ensemble_holds_up(preds: list[np.ndarray], y: np.ndarray, metric: Metric, groups: np.ndarray, opts: dict) -> bool:
    """Cross-fitted check: select on all validation folds but one, score the ensemble and that
    selection's best single member on the fold left out; True when the ensemble is at least as
    good on average."""
    n_classes = opts["n_classes"]
    ens, single = [], []
    for g in np.unique(groups):
        fit, held = groups != g, groups == g
        sel = greedy_selection([p[fit] for p in preds], y[fit], metric, groups=groups[fit], **opts)
        avg = sum(w * preds[i][held] for i, w in sel.weights.items())
        ens.append(metric.fn(y[held], avg, n_classes))
        single.append(metric.fn(y[held], preds[sel.best_single][held], n_classes))
    return metric.oriented(float(np.nanmean(ens))) >= metric.oriented(float(np.nanmean(single)))


def per_candidate_selection(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    labels: Sequence[str],
    *,
    n_classes: int,
    rounds: int = DEFAULT_ROUNDS,
    groups: np.ndarray | None = None,
    max_size: int | None | str = "auto",
) -> dict[str, tuple[list[int], Selection]]:
    """"Tuned + ensembled" per candidate (as TabArena reports it): for each label, a selection
    over that candidate's own members only. Returns label -> (its library indices, the
    selection, whose indices are positions in that list)."""
    out: dict[str, tuple[list[int], Selection]] = {}
    for label in dict.fromkeys(labels):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        sel = greedy_selection([predictions[i] for i in idx], y, metric, n_classes=n_classes, rounds=rounds, groups=groups, max_size=max_size)
        out[label] = (idx, sel)
    return out
