"""Early-stopped boosting: train up to a large cap of rounds, stop on a split of the fit's own rows.

:class:`EarlyStoppedClassifier` and :class:`EarlyStoppedRegressor` wrap one unfitted booster
(XGBoost, LightGBM, CatBoost or scikit-learn's HistGradientBoosting). ``fit(X, y)``:

1. **carves** an early-stopping split from the rows it was given (:func:`carve_split`: seeded,
   stratified for classification, every class kept in the fitting part). The runner only ever
   hands a fit its own training rows, so these rows are never the inner validation rows that
   score a trial, nor the outer test fold;
2. trains on the rest for at most ``max_rounds`` rounds, evaluating the carved rows after every
   round on the stopping metric: with ``stopping_metric="auto"``, ROC AUC for a binary task and
   the library's loss otherwise (multiclass log loss, RMSE), as TabArena does (it early-stops
   on its evaluation metric: AUC, log loss, RMSE). Log loss on a few hundred held-out rows of an
   imbalanced task bottoms out after a handful of rounds while AUC still improves, so stopping
   on it stops far too early. ``stopping_metric="loss"`` always uses the loss;
3. stops when the metric has not improved for ``patience`` rounds (a classification loss must
   drop by :data:`MIN_DELTA`, a regression loss by the share :data:`REL_DELTA` of its best: both
   shrink by crumbs for thousands of rounds)
   and keeps the model as it was at the best round (XGBoost, LightGBM, CatBoost). scikit-learn's HistGB uses its own early
   stopping (``n_iter_no_change`` on ``X_val``), which cannot roll back, so it keeps every round
   it trained.

**Patience** (``patience="auto"``) follows AutoGluon's adaptive rule: after a new best at round
``b`` the patience is ``0.3·b + 20`` rounds, never below a floor that depends on the number of
rows (300 up to 10,000 rows, shrinking as ``300·10,000/n`` above, at least 20) and never above the
cap. A small learning rate reaches its best late, so its patience grows with it. ``min_patience``
(an integer) replaces that floor: AutoGluon's 300 rounds cost most of a fit that peaks after 100
rounds, which on a CPU-sized suite is where the time goes (``suites/standard.yaml`` sets 50). HistGB cannot
change its patience while training; it gets ``1/learning_rate`` rounds (10 to the floor), since
every extra round it trains stays in the model. An integer ``patience`` is a fixed patience.
An integer ``rounds`` trains exactly that many rounds (at most ``max_rounds``) on every row,
without early stopping: the fixed-rounds baseline, and the final refit, which gets the rounds its
configuration kept during tuning, scaled to the refit's rows (:func:`refit_rounds`). A fit on
fewer than :data:`MIN_ROWS` rows trains :data:`FALLBACK_ROUNDS` rounds on every row.

After ``fit``: ``n_rounds_`` (rounds in the kept model: the best round for the three libraries,
every trained round for HistGB), ``n_rounds_trained_``, ``patience_`` (the patience in force
when training stopped), ``stopping_metric_`` (``auc`` or ``loss``), ``n_early_stopping_rows_``,
``stopped_early_`` (False when it reached the cap), ``estimator_`` (the fitted booster). :func:`benchmark.candidates.outputs.boosting_rounds`
reads ``n_rounds_`` for the records.

The libraries are imported inside ``fit`` only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from benchmark.metrics import binary_auc

#: Rounds trained when the rows are too few to carve an early-stopping split from.
FALLBACK_ROUNDS = 100
#: Fewest rows ``fit`` carves an early-stopping split from.
MIN_ROWS = 10
#: The least drop in a classification loss (log loss) that counts as an improvement.
MIN_DELTA = 1e-4
#: The least relative drop in a regression loss (RMSE) that counts as an improvement: 0.01%.
#: RMSE on the held-out rows keeps falling by crumbs for thousands of rounds (concrete, 700 rows:
#: best rounds of 8,000-9,900 at learning rate 0.02), so without it most regression fits ran to
#: the cap for no measurable gain.
REL_DELTA = 1e-4


def refit_rounds(rounds: Sequence[int], fit_rows: Sequence[int], n_rows: int) -> int | None:
    """Rounds for a refit on ``n_rows`` rows without early stopping: the mean of the ``rounds``
    that a configuration's early-stopped fits kept, times ``n_rows`` over the mean of the
    ``fit_rows`` those fits were given. None when no round was recorded.

    ``benchmarks/early_stopping.py`` measured this against early-stopping the refit again on a
    carved split: on the standard suite's datasets (about 1,000 training rows) the scaled rounds
    scored better on 7–8 of 10 tasks per booster, since the refit keeps every row and the rounds
    are averaged over the inner splits instead of read off one small held-out split.
    """
    if not rounds or not fit_rows:
        return None
    return max(1, int(round(float(np.mean(rounds)) * n_rows / float(np.mean(fit_rows)))))


def valid_fraction_for(n_rows: int) -> float:
    """The share of a fit's rows held out for early stopping (after AutoGluon's holdout rule):
    between 10% and 20% below 5,000 rows (500 rows when that fits), then 2,500 rows, at least 1%."""
    if n_rows < 5000:
        return max(0.1, min(0.2, 500.0 / max(n_rows, 1)))
    return max(0.01, min(0.1, 2500.0 / n_rows))


def patience_floor(n_rows: int, *, low: int = 20, high: int = 300, rows: int = 10_000) -> int:
    """The least patience for ``n_rows`` training rows: ``high`` up to ``rows``, then
    ``high·rows/n_rows``, never below ``low`` (AutoGluon's row-dependent offset)."""
    scale = 1.0 if n_rows <= rows else rows / n_rows
    return max(low, int(round(high * scale)))


class Patience:
    """Adaptive patience: after a new best at round ``b``, wait ``rate·b + offset`` rounds
    (between ``floor`` and ``ceiling``). ``rate=0`` gives a fixed patience of ``max(floor, offset)``.

    Call :meth:`update` with each round's validation loss (lower is better); it returns whether
    that round is a new best: below the best so far by more than ``min_delta`` and by more than
    ``rel_delta`` times the best. :meth:`stop` says whether training should stop after ``round``.
    """

    def __init__(self, *, floor: int, ceiling: int, rate: float = 0.3, offset: int = 20, min_delta: float = 0.0, rel_delta: float = 0.0) -> None:
        self.floor, self.ceiling, self.rate, self.offset = int(floor), int(ceiling), float(rate), int(offset)
        self.min_delta, self.rel_delta = float(min_delta), float(rel_delta)
        self.best_round, self.best_loss, self.best_tie, self.last_round = 0, math.inf, math.inf, -1
        self.patience = self._patience(0)

    def _patience(self, best_round: int) -> int:
        return max(1, min(self.ceiling, max(self.floor, int(round(self.rate * best_round + self.offset)))))

    def update(self, round_: int, loss: float, tie: float | None = None) -> bool:
        """``tie``: a second loss that breaks ties of ``loss`` (log loss when ``loss`` is -AUC,
        which saturates at 1 on a small held-out split); it must drop by :data:`MIN_DELTA`."""
        self.last_round = int(round_)
        if not math.isfinite(loss):
            return False
        tie = math.inf if tie is None or not math.isfinite(tie) else float(tie)
        margin = self.min_delta if not math.isfinite(self.best_loss) else max(self.min_delta, self.rel_delta * abs(self.best_loss))
        better = loss < self.best_loss - margin
        if not better and loss <= self.best_loss and tie < self.best_tie - MIN_DELTA:
            better = True
        if better:
            self.best_round, self.best_loss, self.best_tie = int(round_), float(loss), tie
            self.patience = self._patience(self.best_round)
        return better

    def stop(self, round_: int) -> bool:
        return int(round_) - self.best_round >= self.patience


def carve_split(n_rows: int, y: np.ndarray | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions ``(fit, early_stopping)`` of a seeded split of ``n_rows`` rows.

    ``y``: class labels to stratify on (None for regression). Every class stays in the fitting
    part: a class with a single row is kept out of the early-stopping part, and an
    early-stopping row whose class the fitting part lacks is moved back. The early-stopping part
    is empty when there are fewer than :data:`MIN_ROWS` rows.
    """
    idx = np.arange(n_rows)
    n_es = int(round(n_rows * fraction))
    if n_rows < MIN_ROWS or not 0 < fraction < 1 or n_es < 1:
        return idx, idx[:0]
    pool, kept, strat = idx, idx[:0], None
    if y is not None:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        single = counts[inverse] < 2
        pool, kept = idx[~single], idx[single]
        n_classes = int(np.sum(counts >= 2))
        if n_es >= n_classes and len(pool) - n_es >= n_classes:
            strat = y[pool]
    if len(pool) - n_es < 1:
        return idx, idx[:0]
    fit, es = train_test_split(pool, test_size=n_es, random_state=seed, stratify=strat)
    fit = np.concatenate([fit, kept])
    if y is not None:
        missing = np.isin(y[es], y[fit], invert=True)
        fit, es = np.concatenate([fit, es[missing]]), es[~missing]
    return np.sort(fit), np.sort(es)


class _EarlyStopped(MetaEstimatorMixin, BaseEstimator):
    """Shared ``fit``; see :class:`EarlyStoppedClassifier` and :class:`EarlyStoppedRegressor`."""

    _classifier = False

    def __init__(
        self,
        estimator: Any,
        *,
        max_rounds: int = 10_000,
        patience: int | str = "auto",
        min_patience: int | str = "auto",
        valid_fraction: float | str = "auto",
        stopping_metric: str = "auto",
        rounds: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.estimator = estimator
        self.max_rounds = max_rounds
        self.patience = patience
        self.min_patience = min_patience
        self.valid_fraction = valid_fraction
        self.stopping_metric = stopping_metric
        self.rounds = rounds
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> _EarlyStopped:
        """Carve the early-stopping rows from ``X``, train with early stopping; returns self."""
        if self.stopping_metric not in ("auto", "loss"):
            raise ValueError(f"stopping_metric must be 'auto' or 'loss' (got {self.stopping_metric!r})")
        if self.patience != "auto" and (isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1):
            raise ValueError(f"patience must be 'auto' or a positive integer (got {self.patience!r})")
        if self.min_patience != "auto" and (isinstance(self.min_patience, bool) or not isinstance(self.min_patience, int) or self.min_patience < 1):
            raise ValueError(f"min_patience must be 'auto' or a positive integer (got {self.min_patience!r})")
        y = np.asarray(y).ravel()
        n = len(y)
        frac = valid_fraction_for(n) if self.valid_fraction == "auto" else float(self.valid_fraction)
        seed = 0 if self.random_state is None else int(self.random_state)
        if self.rounds is None:
            fit_idx, es_idx = carve_split(n, y if self._classifier else None, frac, seed)
        else:
            fit_idx, es_idx = np.arange(n), np.arange(0)
        cap = max(1, int(self.max_rounds))
        est = clone(self.estimator)
        library = _library(est)
        Xf, yf = _safe_indexing(X, fit_idx), y[fit_idx]
        if len(es_idx) == 0:  # fixed rounds: asked for, or too few rows to carve a split from
            rounds = min(cap, max(1, int(self.rounds)) if self.rounds is not None else FALLBACK_ROUNDS)
            _FIXED[library](est, rounds)
            est.fit(Xf, yf)
            trained, self.patience_, self.stopping_metric_ = rounds, 0, None
        else:
            Xe, ye = _safe_indexing(X, es_idx), y[es_idx]
            auc = self.stopping_metric == "auto" and self._classifier and len(np.unique(y)) == 2 and len(np.unique(ye)) == 2
            stopper = self._stopper(n, cap, est, library, auc)
            rounds, trained = _FIT[library](est, Xf, yf, Xe, ye, stopper, cap, auc)
            self.patience_, self.stopping_metric_ = stopper.patience, "auc" if auc else "loss"
        self.estimator_ = est
        self.n_rounds_, self.n_rounds_trained_ = int(rounds), int(trained)
        self.n_early_stopping_rows_ = int(len(es_idx))
        self.stopped_early_ = bool(len(es_idx)) and trained < cap
        if self._classifier:
            self.classes_ = np.asarray(est.classes_)
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def _stopper(self, n: int, cap: int, est: Any, library: str, auc: bool) -> Patience:
        # a loss on separable classes keeps shrinking by crumbs for thousands of rounds: only an
        # improvement of more than MIN_DELTA counts (AUC counts every improvement); RMSE must drop
        # by REL_DELTA of its best
        delta = MIN_DELTA if self._classifier and not auc else 0.0
        rel = 0.0 if self._classifier else REL_DELTA
        if self.patience != "auto":
            p = int(self.patience)
            return Patience(floor=p, ceiling=max(p, 1), rate=0.0, offset=p, min_delta=delta, rel_delta=rel)
        floor = min(patience_floor(n) if self.min_patience == "auto" else int(self.min_patience), cap)
        if library == "hist_gb":  # no rollback: every round past the best stays in the model
            lr = float(est.get_params().get("learning_rate") or 0.1)
            p = max(10, min(floor, int(round(1.0 / lr))))
            return Patience(floor=p, ceiling=p, rate=0.0, offset=p, min_delta=delta, rel_delta=rel)
        return Patience(floor=floor, ceiling=cap, min_delta=delta, rel_delta=rel)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(X)).ravel()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class EarlyStoppedClassifier(ClassifierMixin, _EarlyStopped):
    """A booster classifier trained with early stopping on a split of its own training rows."""

    _classifier = True

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_proba(X))


class EarlyStoppedRegressor(RegressorMixin, _EarlyStopped):
    """A booster regressor trained with early stopping on a split of its own training rows."""


def _library(est: Any) -> str:
    module = type(est).__module__
    for name in ("xgboost", "lightgbm", "catboost"):
        if module.startswith(name):
            return name
    if type(est).__name__.startswith("HistGradientBoosting"):
        return "hist_gb"
    raise TypeError(f"early stopping supports XGBoost, LightGBM, CatBoost and HistGradientBoosting, not {type(est).__name__}")


# ---------------------------------------------------------------------------------------------
# One function per library: train ``est`` on (Xf, yf), early-stopping on (Xe, ye) with
# ``stopper`` on ROC AUC (``auc``) or the library's loss; return (rounds kept, rounds trained).


def _fit_xgboost(est, Xf, yf, Xe, ye, stopper: Patience, cap: int, auc: bool) -> tuple[int, int]:
    import xgboost as xgb

    class _Stop(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log) -> bool:
            logged = evals_log["validation_0"]
            if "auc" in logged:
                loss, tie = -float(logged["auc"][-1]), float(logged["logloss"][-1])
            else:
                loss, tie = float(next(iter(logged.values()))[-1]), None
            if stopper.update(epoch, loss, tie):  # xgboost predicts with best_iteration when it is set
                model.set_attr(best_iteration=str(epoch), best_score=str(loss))
            return stopper.stop(epoch)

    metric = {"eval_metric": ["auc", "logloss"]} if auc else {}
    est.set_params(n_estimators=cap, early_stopping_rounds=None, callbacks=[_Stop()], **metric)
    try:
        est.fit(Xf, yf, eval_set=[(Xe, ye)], verbose=False)
    finally:
        est.callbacks = None  # a local class: keep the fitted model picklable (set_params would reconfigure the booster)
    return stopper.best_round + 1, est.get_booster().num_boosted_rounds()


def _fit_lightgbm(est, Xf, yf, Xe, ye, stopper: Patience, cap: int, auc: bool) -> tuple[int, int]:
    import lightgbm as lgb

    best_scores: list[Any] = []

    def _stop(env) -> None:
        results = {r[1]: r[2] for r in env.evaluation_result_list}
        if "auc" in results:
            loss, tie = -results["auc"], results["binary_logloss"]
        else:
            _, _, value, higher = env.evaluation_result_list[0][:4]
            loss, tie = (-value if higher else value), None
        if stopper.update(env.iteration, loss, tie):
            best_scores[:] = env.evaluation_result_list
        if stopper.stop(env.iteration) or env.iteration >= env.end_iteration - 1:
            # lightgbm keeps best_iteration = this + 1 and predicts with it
            raise lgb.callback.EarlyStopException(stopper.best_round, list(best_scores))

    est.set_params(n_estimators=cap, **({"metric": ["auc", "binary_logloss"]} if auc else {}))
    est.fit(Xf, yf, eval_X=Xe, eval_y=ye, callbacks=[_stop])
    return stopper.best_round + 1, stopper.last_round + 1


class _CatBoostStop:
    """A CatBoost ``callbacks`` entry: feeds each round's validation loss to a :class:`Patience`."""

    def __init__(self, stopper: Patience) -> None:
        self.stopper = stopper

    def after_iteration(self, info) -> bool:
        metrics = info.metrics["validation"]
        if "AUC" in metrics:
            loss, tie = -float(metrics["AUC"][-1]), float(metrics["Logloss"][-1])
        else:
            loss, tie = float(next(iter(metrics.values()))[-1]), None
        round_ = int(info.iteration) - 1
        self.stopper.update(round_, loss, tie)
        return not self.stopper.stop(round_)  # False stops training


def _fit_catboost(est, Xf, yf, Xe, ye, stopper: Patience, cap: int, auc: bool) -> tuple[int, int]:
    est.set_params(iterations=cap, use_best_model=False, **({"eval_metric": "AUC"} if auc else {}))
    est.fit(Xf, yf, eval_set=(Xe, ye), callbacks=[_CatBoostStop(stopper)])
    if stopper.best_round + 1 < est.tree_count_:
        est.shrink(ntree_end=stopper.best_round + 1)  # keep the best round (ties of AUC broken by log loss)
    return int(est.tree_count_), stopper.last_round + 1


class HistGBRoundAUC:
    """ROC AUC of a binary HistGB during its own early stopping: what ``scoring="roc_auc"`` gives,
    at a small part of the cost.

    scikit-learn calls its scorer twice a round (the held-out rows and a training sample). With
    ``"roc_auc"`` the scorer validates its inputs, works out the target type and binarizes the
    labels every time: about 95% of a HistGB fit's CPU on 1,000 rows. A callable scorer is worse:
    scikit-learn then predicts with every tree so far, each round. This one keeps each set's raw
    predictions, adds only the trees of the rounds it has not seen, and ranks them
    (:func:`benchmark.metrics.binary_auc`; a constant baseline does not change a rank). One
    instance serves one fit.
    """

    def __init__(self) -> None:
        self._raw: dict[int, tuple[np.ndarray, int]] = {}

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        raw, seen = self._raw.get(id(X), (None, 0))
        if raw is None or len(raw) != X.shape[0]:
            raw, seen = np.zeros(X.shape[0]), 0
        missing = estimator._bin_mapper.missing_values_bin_idx_
        for (tree,) in estimator._predictors[seen:]:
            raw += tree.predict_binned(X, missing, 1)
        self._raw[id(X)] = (raw, len(estimator._predictors))
        return binary_auc(np.asarray(y) == estimator.classes_[-1], raw)

    def clear(self) -> None:
        self._raw.clear()


def _hist_gb_tol(stopper: Patience, yf: np.ndarray) -> float:
    """HistGB's absolute ``tol``: the stopper's ``min_delta``; for a regression, ``rel_delta`` of
    the loss of predicting the mean (half the variance of ``y``: scikit-learn cannot measure
    against the best loss so far)."""
    tol = max(stopper.min_delta, 1e-7)
    return max(tol, stopper.rel_delta * 0.5 * float(np.var(yf))) if stopper.rel_delta else tol


def _fit_hist_gb(est, Xf, yf, Xe, ye, stopper: Patience, cap: int, auc: bool) -> tuple[int, int]:
    est.set_params(max_iter=cap, early_stopping=True, n_iter_no_change=stopper.patience, scoring=HistGBRoundAUC() if auc else "loss",
                   tol=_hist_gb_tol(stopper, yf))
    est.fit(Xf, yf, X_val=Xe, y_val=ye)
    if isinstance(est.scoring, HistGBRoundAUC):
        est.scoring.clear()  # the raw predictions served this fit only
    scores = np.asarray(est.validation_score_)[1:]  # scikit-learn's scores are higher-is-better
    if len(scores):
        stopper.best_round, stopper.last_round = int(np.argmax(scores)), len(scores) - 1
    return int(est.n_iter_), int(est.n_iter_)


_FIT = {"xgboost": _fit_xgboost, "lightgbm": _fit_lightgbm, "catboost": _fit_catboost, "hist_gb": _fit_hist_gb}
_FIXED = {
    "xgboost": lambda est, r: est.set_params(n_estimators=r, early_stopping_rounds=None),
    "lightgbm": lambda est, r: est.set_params(n_estimators=r),
    "catboost": lambda est, r: est.set_params(iterations=r),
    "hist_gb": lambda est, r: est.set_params(max_iter=r, early_stopping=False),
}
