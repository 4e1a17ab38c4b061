"""What a fitted estimator gives back, read the same way for every candidate.

- :func:`predict_output`: the predictions metrics consume (class probabilities or values);
- :func:`gpu_seconds`: how long it trained on a GPU, and :func:`fit_device`: on which device;
- :func:`epoch_history`: the per-epoch log an iterative model kept;
- :func:`boosting_rounds`: the rounds an early-stopped booster kept.

Each reads a fitted estimator or, for a pipeline, its last step; the runner (tuning, the worker,
post-hoc ensembles) calls them and never looks at an estimator's attributes itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from benchmark.candidates.base import Schema


def predict_output(estimator: Any, X: pd.DataFrame, schema: Schema) -> np.ndarray:
    """What metrics consume: an (n, k) probability matrix for classification, (n,) for regression.

    Columns follow the task's class codes 0..k-1 even when a training fold lacked a class.
    """
    if not schema.is_classification:
        return np.asarray(estimator.predict(X), dtype=float).ravel()
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    classes = np.asarray(estimator.classes_).astype(int)
    if proba.shape[1] == schema.n_classes and np.array_equal(classes, np.arange(schema.n_classes)):
        return proba
    full = np.zeros((proba.shape[0], schema.n_classes))
    full[:, classes] = proba
    return full


def _device(estimator: Any) -> tuple[Any, str | None]:
    """The fitted object that names its training device (the estimator or a pipeline's last
    step) and that device (its ``device_``, e.g. ``cuda:0``); ``(None, None)`` when none does."""
    for obj in (estimator, getattr(estimator, "_final_estimator", None)):
        dev = getattr(obj, "device_", None)
        if dev:
            return obj, str(dev)
    return None, None


def gpu_seconds(estimator: Any) -> float:
    """Seconds a fitted estimator (or a pipeline's last step) trained on a GPU; 0.0 on the CPU.

    Reads the ``device_`` and ``fit_seconds_`` attributes the neural candidates set.
    """
    obj, dev = _device(estimator)
    if dev is not None and dev.startswith("cuda"):
        return float(getattr(obj, "fit_seconds_", 0.0) or 0.0)
    return 0.0


def fit_device(estimator: Any) -> str | None:
    """The device a fitted estimator (or a pipeline's last step) trained on, or None when it does not say."""
    return _device(estimator)[1]


def epoch_history(est: Any) -> list[dict[str, Any]] | None:
    """The per-epoch log a fitted estimator (or a pipeline's last step) kept, as plain dicts.

    Reads ``epoch_history_`` or, as the neural candidates name it, ``history_``: a list of
    ``{"epoch": 1, "train_loss": …, "valid_loss": …, …}``.  Estimators without one give None.
    """
    for obj in (est, getattr(est, "_final_estimator", None)):
        for attr in ("epoch_history_", "history_"):
            hist = getattr(obj, attr, None)
            if isinstance(hist, (list, tuple)) and hist and all(isinstance(e, dict) and "epoch" in e for e in hist):
                return [dict(e) for e in hist]
    return None


def boosting_rounds(est: Any) -> int | None:
    """Boosting rounds in a fitted early-stopped booster (or a pipeline's last step), or None.

    Reads ``n_rounds_``, which :mod:`benchmark.candidates.early_stopping` sets: the rounds kept
    after early stopping (the best round), not the rounds trained past it.
    """
    for obj in (est, getattr(est, "_final_estimator", None)):
        rounds = getattr(obj, "n_rounds_", None)
        if rounds is not None:
            return int(rounds)
    return None
