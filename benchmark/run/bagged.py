"""The ``bag`` final: a job's test prediction without a refit.

With ``final: bag`` every inner-fold model of every tuning trial also predicts the outer test
fold (:func:`benchmark.run.tuning.tune` with ``test_X``); a completed trial's test prediction is
the average over its inner folds (k-fold bagging, as TabArena and TabRepo do).  The chosen
configuration's bagged prediction gives the job's test scores, so no configuration is refitted:

* each trial in the record carries ``test`` (its bagged prediction's scores, every metric), so
  default (trial 0), tuned (the chosen trial) and every budget are read off the record;
* ``budget_curve`` has a point at every trial count, at no cost;
* the worker returns the predictions themselves as ``_test`` (``{"numbers", "preds"}``), which
  the driver saves under ``RUN_DIR/test/`` next to ``oof/`` (:func:`benchmark.results.store.save_test`);
* ``fits_saved`` is the number of fits ``refit`` would have made that ``bag`` did not: the final
  refit and the budget curve's refits of earlier choices.  Fits are counted as in ``refit``
  (``n_fits`` = the tuning fits), so the budget is unchanged; only the cost drops.

The training-row scores (``train_*``) are those of the chosen trial's bagged prediction on the
outer training rows (each inner model has seen most of them).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmark.candidates.outputs import epoch_history, fit_device, predict_output
from benchmark.metrics import get_metric, score_all
from benchmark.results.records import n_fits
from benchmark.run.curves import best_so_far_numbers, budget_checkpoints
from benchmark.run.tuning import TuneResult, tune


def predictions_payload(preds: dict[int, np.ndarray]) -> dict[str, np.ndarray] | None:
    """Trial number → prediction as ``{"numbers": (t,), "preds": (t, n[, k])}`` (None when empty)."""
    if not preds:
        return None
    numbers = sorted(preds)
    return {"numbers": np.asarray(numbers, dtype=np.int64), "preds": np.stack([preds[n] for n in numbers])}


def bag_and_score(job: Any, task: Any, schema: Any) -> tuple[dict[str, Any], TuneResult, dict[str, float], dict[str, float], float]:
    """Tune with test predictions; return the job's fields, the tuning result, test and train
    scores of the chosen configuration's bagged prediction, and the GPU seconds."""
    X, y = task.X, task.y
    train, test = job.fold.train, job.fold.test
    Xtr, ytr = X.iloc[train], y[train]
    out: dict[str, Any] = {"final": "bag"}
    t = time.perf_counter()
    result = tune(
        job.candidate, schema, Xtr, ytr, job.fold.inner,
        metric=job.metric, trials=job.trials, seconds=job.seconds, sampler=job.sampler, seed=job.seed,
        n_threads=job.n_threads, keep_oof=True, timeout=job.timeout, test_X=X.iloc[test],
    )
    out["tune_seconds"] = time.perf_counter() - t
    # stored as float32 (compact); every score, here and in any later view, is of the stored values
    result.test = {n: p.astype(np.float32).astype(float) for n, p in result.test.items()}
    trials = [r.to_dict() for r in result.trials]
    ytest = y[test]
    for tr in trials:
        if tr["number"] in result.test:
            tr["test"] = score_all(schema.kind, ytest, result.test[tr["number"]], schema.n_classes)
    out["trials"] = trials
    out["n_trials"] = len(trials)
    out["n_failed_trials"] = sum(r.state != "ok" for r in result.trials)
    out["best_params"] = result.best_params
    out["best_inner_score"] = result.best_value
    out["best_trial"] = result.best_number
    out["n_fits"] = n_fits(trials)  # no final refit
    out["n_base_fits"] = sum(int(tr.get("base_fits") or 0) for tr in trials)
    out["fit_seconds"] = 0.0
    if result.best_number not in result.test:
        raise RuntimeError(f"the chosen trial {result.best_number} has no test prediction from every inner fold")
    t = time.perf_counter()
    test_scores = score_all(schema.kind, ytest, result.test[result.best_number], schema.n_classes)
    train_out = np.mean([np.asarray(predict_output(m, Xtr, schema), dtype=float) for m in result.best_models], axis=0)
    train_scores = score_all(schema.kind, ytr, train_out, schema.n_classes)
    out["predict_seconds"] = time.perf_counter() - t
    first = result.best_models[0] if result.best_models else None
    history = epoch_history(first) if first is not None else None
    if history:
        out["epoch_history"] = history
    device = fit_device(first) if first is not None else None
    if device:
        out["device"] = device
    out["_test"] = predictions_payload(result.test)
    out["_oof_all"] = predictions_payload(result.oof)  # for the candidate's own tuned + ensembled (run.tuned_ensemble)
    if job.keep_oof:
        out["_oof"] = out["_oof_all"]
    if job.budget_curve:
        out["budget_curve"] = bagged_budget_curve(trials, get_metric(job.metric).greater_is_better)
    out["fits_saved"] = 1 + (refits_avoided(trials, get_metric(job.metric).greater_is_better, result.best_number) if job.budget_curve else 0)
    gpu = sum(float(tr.get("gpu_seconds") or 0.0) for tr in trials)
    return out, result, test_scores, train_scores, gpu


def bagged_budget_curve(trials: list[dict[str, Any]], greater_is_better: bool) -> list[dict[str, Any]]:
    """``[{trials: b, trial_number, test}]`` for every trial count b: the test scores of the trial
    the tuner would have chosen after b trials (read from the trials' ``test``; no fits)."""
    chosen = best_so_far_numbers(trials, greater_is_better)
    by_number = {t["number"]: t for t in trials}
    points = []
    for b, num in enumerate(chosen, 1):
        if num is None:
            continue
        scores = by_number[num].get("test")
        point: dict[str, Any] = {"trials": b, "trial_number": num}
        if scores is None:
            point["error"] = "no bagged test prediction for this trial"
        else:
            point["test"] = dict(scores)
        points.append(point)
    return points


def refits_avoided(trials: list[dict[str, Any]], greater_is_better: bool, best: int) -> int:
    """The refits ``refit``'s budget curve would have made: distinct earlier choices at its checkpoints."""
    chosen = best_so_far_numbers(trials, greater_is_better)
    return len({chosen[b - 1] for b in budget_checkpoints(len(trials)) if chosen[b - 1] is not None} - {best})


def library_bagged(run_dir: Any, task: str, fold: int, members: list[Any], preds: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """An ensemble library restricted to members with a stored test prediction, and those predictions.

    ``members[i]`` is ``(config, params, trial number, inner score)``; returns the kept members,
    their out-of-fold predictions and their bagged test predictions (float64 of the stored float32).
    """
    from benchmark.results.store import load_bagged

    cache: dict[str, dict[int, np.ndarray] | None] = {}
    keep, bagged = [], []
    for i, (config, _params, number, _inner) in enumerate(members):
        if config.name not in cache:
            loaded = load_bagged(run_dir, task, config.name, fold)
            cache[config.name] = None if loaded is None else dict(zip(loaded[0].tolist(), loaded[1], strict=True))
        found = cache[config.name]
        if found is not None and number in found:
            keep.append(i)
            bagged.append(np.asarray(found[number], dtype=float))
    if not keep:
        return [], np.empty((0,)), np.empty((0,))
    return [members[i] for i in keep], np.asarray(preds)[keep], np.stack(bagged)
