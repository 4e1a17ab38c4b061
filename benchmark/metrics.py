"""Metrics: THE table of metric facts. Every other module asks here; none re-derives them.

Per metric: the function, which way is better (``greater_is_better``), whether it lies on a fixed
scale of at most 1 (``bounded``: AUC, accuracy, F1, R², so raw values are comparable across
tasks and an absolute tolerance makes sense) and the kinds of task it applies to. Per task kind:
the default metric (:data:`DEFAULT_METRIC`). A name not in the table (e.g. a column of a
user's CSV) is taken as higher-is-better and unbounded.

Classification metrics take integer labels ``y`` (codes 0..k-1) and a probability matrix
``proba`` of shape (n, k); regression metrics take ``y`` and predictions ``pred`` of shape (n,).
Every metric returns a float (NaN when it is undefined on the given fold, e.g. ROC AUC on a
fold that holds one class).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmark.errors import InputError

CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression",)
#: Every kind of task, in this order wherever kinds are listed.
KINDS = CLASSIFICATION + REGRESSION


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(y, output, n_classes) -> float`` and its direction."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray, int], float]
    greater_is_better: bool
    kinds: tuple[str, ...]
    description: str
    bounded: bool = False
    #: the values the metric can take (a curve's ±sd band is clipped to it)
    range: tuple[float, float] = (-np.inf, np.inf)

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds

    def oriented(self, value: float) -> float:
        """Return ``value`` oriented so that greater is always better (for maximisation)."""
        return value if self.greater_is_better else -value


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.asarray(proba).argmax(axis=1)


def _accuracy(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    from sklearn import metrics as skm

    return float(skm.accuracy_score(y, _labels(proba)))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    from sklearn import metrics as skm

    return float(skm.balanced_accuracy_score(y, _labels(proba)))


def _f1_macro(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    from sklearn import metrics as skm

    return float(skm.f1_score(y, _labels(proba), average="macro", labels=np.arange(k), zero_division=0))


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann–Whitney statistic (average ranks for ties): the value
    ``sklearn.metrics.roc_auc_score`` gives, without its input checks, which cost milliseconds a
    call (ensemble selection scores thousands of blends)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n1 = int(positive.sum())
    n0 = positive.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _roc_auc(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    present = np.unique(y)
    if present.size < 2:
        return float("nan")
    if k == 2:
        return binary_auc(y == present[-1], proba[:, 1])  # the greater label is the positive class, as in sklearn
    if present.size < k:  # OvR over the classes present in this fold, renormalised
        proba = proba[:, present]
        proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-15, None)
        if present.size == 2:
            return binary_auc(y == present[1], proba[:, 1])
    else:
        present = np.arange(k)
    # one-vs-rest, macro average over the classes (sklearn's multi_class="ovr", average="macro")
    return float(np.mean([binary_auc(y == c, proba[:, j]) for j, c in enumerate(present)]))


def _log_loss(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    from sklearn import metrics as skm

    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y, p, labels=np.arange(k)))


#: Equal-width bins of the top-label confidence used by the expected calibration error.
ECE_BINS = 15


def _brier(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Brier score: squared error of the probability vector against the one-hot label, summed over
    classes and halved, averaged over rows; in [0, 1], and equal to sklearn's ``brier_score_loss``
    on binary tasks."""
    p = np.asarray(proba, float)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), np.asarray(y, int)] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)) / 2.0) if len(y) else float("nan")


def _ece(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Expected calibration error of the top label: rows binned by their highest predicted
    probability into :data:`ECE_BINS` equal-width bins on [0, 1]; the mean over bins, weighted by
    their share of rows, of |accuracy − mean confidence| in the bin."""
    p = np.asarray(proba, float)
    if not len(y):
        return float("nan")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == np.asarray(y, int)).astype(float)
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for b in np.unique(bins):
        m = bins == b
        total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def _rmse(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def _mae(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def _r2(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    from sklearn import metrics as skm

    if len(y) < 2:
        return float("nan")
    return float(skm.r2_score(y, pred))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", _accuracy, True, CLASSIFICATION, "fraction of correct labels", bounded=True, range=(0.0, 1.0)),
        Metric("balanced_accuracy", _balanced_accuracy, True, CLASSIFICATION, "mean recall per class", bounded=True, range=(0.0, 1.0)),
        Metric("f1_macro", _f1_macro, True, CLASSIFICATION, "F1 averaged over classes", bounded=True, range=(0.0, 1.0)),
        Metric("roc_auc", _roc_auc, True, CLASSIFICATION, "ROC AUC (one-vs-rest for multiclass)", bounded=True, range=(0.0, 1.0)),
        Metric("log_loss", _log_loss, False, CLASSIFICATION, "cross-entropy of predicted probabilities", range=(0.0, np.inf)),
        Metric("brier", _brier, False, CLASSIFICATION, "Brier score (halved multiclass sum; binary = brier_score_loss)", bounded=True, range=(0.0, 1.0)),
        Metric("ece", _ece, False, CLASSIFICATION, f"expected calibration error, top label, {ECE_BINS} equal-width bins", bounded=True, range=(0.0, 1.0)),
        Metric("rmse", _rmse, False, REGRESSION, "root mean squared error", range=(0.0, np.inf)),
        Metric("mae", _mae, False, REGRESSION, "mean absolute error", range=(0.0, np.inf)),
        Metric("r2", _r2, True, REGRESSION, "coefficient of determination", bounded=True, range=(-np.inf, 1.0)),
    )
}

#: Tuning metric per group of task kinds when a suite does not say (``classification`` covers
#: binary and multiclass).
DEFAULT_METRIC = {"classification": "roc_auc", "regression": "rmse"}


def greater_is_better(name: str) -> bool:
    """Direction of the metric ``name``; a name not in the table counts as higher-is-better."""
    m = METRICS.get(name)
    return True if m is None else m.greater_is_better


def is_bounded(name: str) -> bool:
    """Whether ``name`` lies on a fixed scale of at most 1 (AUC, accuracy, F1, R²); unknown: no."""
    m = METRICS.get(name)
    return False if m is None else m.bounded


def value_range(name: str) -> tuple[float, float]:
    """The values metric ``name`` can take (unbounded for a name not in the table)."""
    m = METRICS.get(name)
    return (-np.inf, np.inf) if m is None else m.range


def error_of(name: str, value: float) -> float:
    """``value`` of metric ``name`` as an error (lower is better, 0 = perfect): the value itself
    when lower is better, ``1 − value`` for a bounded higher-is-better metric (AUC, accuracy, R²),
    NaN otherwise (no zero to measure from)."""
    if not greater_is_better(name):
        return float(value)
    return 1.0 - float(value) if is_bounded(name) else float("nan")


def direction_text(name: str) -> str:
    """``"higher is better"`` or ``"lower is better"`` for the metric ``name``."""
    return "higher is better" if greater_is_better(name) else "lower is better"


def get_metric(name: str) -> Metric:
    """Return the metric called ``name`` or raise an InputError listing the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise InputError(f"unknown metric '{name}'; choose one of: {', '.join(METRICS)}") from None


def metrics_for(kind: str) -> list[Metric]:
    """All metrics that apply to a task of this kind, in table order."""
    return [m for m in METRICS.values() if m.applies_to(kind)]


def score_all(kind: str, y: np.ndarray, output: np.ndarray, n_classes: int) -> dict[str, float]:
    """Every applicable metric on one prediction: ``{metric_name: value}``."""
    out: dict[str, float] = {}
    for m in metrics_for(kind):
        try:
            out[m.name] = m.fn(y, output, n_classes)
        except ValueError:
            out[m.name] = float("nan")
    return out
