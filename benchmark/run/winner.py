"""The winner, fitted: the chosen candidate tuned on all rows and refitted, as ``GridSearchCV`` does.

This is what :meth:`benchmark.api.CompareResult.fit_best` returns. It is **not** the estimate
the comparison reports: the leaderboard's scores come from nested cross-validation (each outer
test fold unseen by tuning); this model is tuned by plain cross-validation on every row (the same
``trials``, sampler and inner-split scheme as each outer fold got) and then refitted on every row,
so it has no held-out score of its own.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.candidates import CandidateConfig, build_estimator
from benchmark.run.tuning import TuneResult, tune
from benchmark.run.worker import schema_of
from benchmark.splits import make_plan


@dataclass
class FittedWinner:
    """A fitted estimator that takes new rows as ``compare()`` took ``X`` and predicts original labels.

    Attributes
    ----------
    candidate : str
        The winning candidate's name.
    estimator : estimator
        The fitted scikit-learn estimator (on the encoded features).
    best_params : dict
        The configuration chosen by cross-validation on all rows.
    best_score : float
        Its mean inner cross-validation score (tuning metric); not an unbiased estimate.
    classes_ : ndarray or None
        Class labels in the order of ``predict_proba``'s columns (classification).
    """

    candidate: str
    estimator: Any
    best_params: dict[str, Any]
    best_score: float
    tuning: TuneResult
    columns: tuple[str, ...]
    name: str
    classes_: np.ndarray | None = None

    def _rows(self, X: Any) -> Any:
        from benchmark.data.build import features_like

        return features_like(X, self.columns, self.name)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for new rows (class labels as given in ``y``, or values)."""
        pred = np.asarray(self.estimator.predict(self._rows(X)))
        if self.classes_ is not None:
            return self.classes_[pred.astype(int)]
        return pred

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities for new rows, columns in the order of ``classes_`` (classification)."""
        return np.asarray(self.estimator.predict_proba(self._rows(X)))


def fit_winner(config: CandidateConfig, task: Any, *, metric: str, trials: int, seconds: float | None, sampler: str,
               seed: int, inner: int | float, n_threads: int = 1) -> FittedWinner:
    """Tune ``config`` by CV on all of ``task``'s rows (``inner`` folds or holdout), refit on all rows."""
    classification = task.kind != "regression"
    k = inner if isinstance(inner, int) else max(2, int(round(1 / inner)))
    plan = make_plan(task.y, classification=classification, folds=k, inner=2, seed=seed, groups=task.groups, time=task.time)
    splits = [(f.train, f.test) for f in plan.folds]
    if not isinstance(inner, int):
        splits = splits[:1]  # a holdout
    schema = schema_of(task)
    with warnings.catch_warnings():  # as in the worker: library chatter is not the user's business here
        warnings.simplefilter("ignore")
        result = tune(config, schema, task.X, task.y, splits, metric=metric, trials=trials, seconds=seconds, sampler=sampler,
                      seed=seed, n_threads=n_threads)
        est = build_estimator(config, schema, result.best_params, seed=seed, n_threads=n_threads)
        est.fit(task.X, task.y)
    classes = np.asarray(task.classes, dtype=object) if task.classes is not None else None
    return FittedWinner(config.name, est, dict(result.best_params), float(result.best_value), result,
                        tuple(task.X.columns), task.name, classes)
