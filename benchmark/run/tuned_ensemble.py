"""A candidate's own "tuned + ensembled" score, as TabArena reports it, from a ``bag`` job's predictions.

TabArena gives three numbers per model: *default* (its default configuration), *tuned* (the
configuration the tuner chose) and *tuned + ensembled* (greedy ensemble selection over every
configuration it tried, weighted by the selection).  With ``final: bag`` all three come from
predictions the job already made, with no fit:

* default and tuned are trial 0's and the chosen trial's ``test`` scores in the record;
* tuned + ensembled (this module) runs :func:`benchmark.run.ensembles.greedy_selection` on the
  trials' out-of-fold predictions (outer-training rows only) and scores the selection-weighted
  average of the same trials' bagged test predictions.  It is stored in the record as
  ``tuned_ensembled`` (``test`` scores, the weights by trial number, the validation score).

:func:`run_bag_job` is what the executors call for a ``bag`` job: the worker's
:func:`~benchmark.run.worker.run_job`, then this step, in the same worker process, so the
out-of-fold arrays never travel back to the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark.metrics import get_metric, score_all
from benchmark.run.ensembles import DEFAULT_ROUNDS, greedy_selection
from benchmark.run.worker import Job, get_task, run_job, schema_of


def run_bag_job(job: Job) -> dict[str, Any]:
    """Run a ``bag`` job and add its ``tuned_ensembled`` field; always returns a record."""
    rec = run_job(job)
    oof = rec.pop("_oof_all", None)
    test = rec.get("_test")
    if rec.get("state") != "ok" or oof is None or test is None:
        return rec
    try:
        task = get_task(job.task)
        schema = schema_of(task)
        rec["tuned_ensembled"] = tuned_ensembled(oof, test, task.y[job.fold.train], task.y[job.fold.test], job.metric, schema.kind, schema.n_classes)
    except Exception as exc:  # a view that cannot be computed never fails the job
        rec["tuned_ensembled"] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    return rec


def tuned_ensembled(oof: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray], y_train: np.ndarray, y_test: np.ndarray, metric: str,
                    kind: str, n_classes: int, *, rounds: int = DEFAULT_ROUNDS) -> dict[str, Any]:
    """Greedy selection over the trials' out-of-fold predictions, scored on their test predictions.

    ``oof`` / ``test``: ``{"numbers", "preds"}`` of one job (trials that completed every inner
    split).  Returns ``{"test": {metric: v}, "weights": {trial: w}, "val_score", "size"}``.
    """
    test_pred = dict(zip(np.asarray(test["numbers"]).tolist(), np.asarray(test["preds"], dtype=float), strict=True))
    numbers = [n for n in np.asarray(oof["numbers"]).tolist() if n in test_pred]
    if not numbers:
        raise ValueError("no trial has both out-of-fold and test predictions")
    oof_pred = dict(zip(np.asarray(oof["numbers"]).tolist(), np.asarray(oof["preds"], dtype=float), strict=True))
    preds = np.stack([oof_pred[n] for n in numbers])
    rows = np.isfinite(preds.reshape(preds.shape[0], preds.shape[1], -1)).all(axis=(0, 2))
    if not rows.any():
        raise ValueError("no outer-training row has a validation prediction from every trial")
    sel = greedy_selection([p[rows] for p in preds], np.asarray(y_train)[rows], get_metric(metric), n_classes=n_classes, rounds=rounds)
    weights = {numbers[i]: float(w) for i, w in sel.weights.items()}
    blended = sum(w * test_pred[n] for n, w in weights.items())
    return {"test": score_all(kind, y_test, np.asarray(blended), n_classes), "weights": {str(n): w for n, w in weights.items()},
            "val_score": float(sel.score), "size": len(sel.members)}
