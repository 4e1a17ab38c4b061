"""Equal-budget tuning on inner folds.

Every candidate gets the same budget per outer fold: ``trials`` configurations (and optionally a
wall-clock ``seconds`` cap). Trial 0 is always the candidate's default configuration; the rest
come from a seeded Optuna sampler (TPE by default, random as an option) through ask/tell, so the
loop — not Optuna — owns timing, failures and records.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.candidates import CandidateConfig, Schema, build_estimator
from benchmark.candidates.outputs import boosting_rounds, gpu_seconds, predict_output
from benchmark.candidates.spaces import Space, decode, to_optuna
from benchmark.metrics import Metric, get_metric
from benchmark.run.limits import FitTimeout, fit_limit, set_trial
from benchmark.splits import Split

log = logging.getLogger(__name__)


@dataclass
class TrialRecord:
    """One configuration tried on the inner folds: its mean validation score and cost."""

    number: int
    params: dict[str, Any]
    value: float
    state: str  # "ok" | "failed" | "timeout" (a fit overran the suite's ``timeout``)
    seconds: float
    fold_values: list[float] = field(default_factory=list)
    error: str | None = None
    gpu_seconds: float = 0.0
    base_fits: int = 0  # base-model fits (an ensemble configuration fits many; a single model one per split)
    rounds: list[int] = field(default_factory=list)  # boosting rounds each split's fit kept (early-stopped boosters)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TuneResult:
    best_params: dict[str, Any]
    best_value: float
    trials: list[TrialRecord]
    best_number: int = 0
    #: trial number → out-of-fold predictions on the inner validation rows, shape (n_train,) or
    #: (n_train, k), NaN on rows no inner split validated; only when ``tune(keep_oof=True)``
    #: and only for trials that completed every split.
    oof: dict[int, np.ndarray] = field(default_factory=dict)
    #: trial number → the average of its inner-fold models' predictions on the outer test rows
    #: (``tune(test_X=...)``, the ``bag`` final); only for trials that completed every split.
    test: dict[int, np.ndarray] = field(default_factory=dict)
    #: the chosen trial's inner-fold models (``tune(test_X=...)``), for its bagged training-row scores.
    best_models: list[Any] = field(default_factory=list)


class TuningFailed(RuntimeError):
    """Every trial failed; ``trials`` holds their records (with errors)."""

    def __init__(self, message: str, trials: list[TrialRecord]) -> None:
        super().__init__(message)
        self.trials = trials


def evaluate(
    config: CandidateConfig,
    schema: Schema,
    params: Mapping[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[Split],
    *,
    metric: Metric,
    seed: int,
    n_threads: int,
    values: list[float] | None = None,
    gpu: list[float] | None = None,
    base_fits: list[int] | None = None,
    oof: np.ndarray | None = None,
    timeout: float | None = None,
    rounds: list[int] | None = None,
    test_X: pd.DataFrame | None = None,
    test_out: list[np.ndarray] | None = None,
    models: list[Any] | None = None,
) -> list[float]:
    """Fit ``params`` on each inner fit split and score its validation split; one value per split.

    ``values``: a list to append to (so a caller keeps the scores of the splits done before a fit
    raised); a new list when not given.  ``gpu`` / ``base_fits``: lists that get each fit's GPU
    seconds / base-model fits; ``rounds``: a list that gets each fit's boosting rounds (early-stopped
    boosters only).  ``oof``: an array of ``len(X)`` rows (× k classes) that gets the
    validation predictions at the validation rows (out-of-fold predictions).  ``timeout``:
    seconds each fit may take (:func:`benchmark.run.limits.fit_limit`; raises ``FitTimeout``).
    ``test_X`` / ``test_out``: rows each fitted model also predicts (the outer test fold), one
    prediction appended per split; ``models``: a list that gets each fitted model.
    """
    from benchmark.candidates.ensembles import count_base_fits

    values = [] if values is None else values
    for fit_idx, val_idx in splits:
        est = build_estimator(config, schema, params, seed=seed, n_threads=n_threads)
        with fit_limit(timeout):
            est.fit(X.iloc[fit_idx], y[fit_idx])
        if gpu is not None:
            gpu.append(gpu_seconds(est))
        if base_fits is not None:
            base_fits.append(count_base_fits(est))
        if rounds is not None and (n := boosting_rounds(est)) is not None:
            rounds.append(n)
        out = predict_output(est, X.iloc[val_idx], schema)
        if oof is not None:
            oof[val_idx] = out
        if test_X is not None and test_out is not None:
            test_out.append(np.asarray(predict_output(est, test_X, schema), dtype=float))
        if models is not None:
            models.append(est)
        values.append(metric.fn(y[val_idx], out, schema.n_classes))
    return values


def new_oof(n_rows: int, schema: Schema) -> np.ndarray:
    """An all-NaN out-of-fold prediction array: (n,) for regression, (n, k) for classification."""
    shape = (n_rows, schema.n_classes) if schema.is_classification else (n_rows,)
    return np.full(shape, np.nan)


def make_sampler(name: str, seed: int, n_trials: int):
    """A seeded Optuna sampler: ``tpe`` (with a random start of about a third of the budget) or ``random``."""
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(1, min(10, n_trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, warn_independent_sampling=False)


def tune(
    config: CandidateConfig,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[Split],
    *,
    metric: str,
    trials: int,
    seconds: float | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    n_threads: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    keep_oof: bool = False,
    timeout: float | None = None,
    test_X: pd.DataFrame | None = None,
) -> TuneResult:
    """Run up to ``trials`` configurations (the default first) within ``seconds``; pick the best.

    A candidate whose space is empty has one configuration and runs one trial. Raises
    :class:`TuningFailed` when every trial failed. ``keep_oof`` keeps each completed trial's
    out-of-fold validation predictions in ``TuneResult.oof`` (for ensemble selection).
    ``timeout``: seconds per fit; a trial whose fit overruns it is recorded with state
    ``timeout`` (Optuna is told it failed) and tuning goes on.  ``test_X`` (the ``bag`` final):
    every inner-fold model also predicts these rows; a completed trial's average prediction goes
    to ``TuneResult.test`` and the chosen trial's models to ``TuneResult.best_models``.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    m = get_metric(metric)
    space: Space = config.space_for(schema.kind)
    budget = trials if space else 1
    dists = to_optuna(space)
    study = optuna.create_study(direction="maximize" if m.greater_is_better else "minimize", sampler=make_sampler(sampler, seed, budget))
    records: list[TrialRecord] = []
    oofs: dict[int, np.ndarray] = {}
    tests: dict[int, np.ndarray] = {}
    best_models: list[Any] = []
    best_value = -math.inf
    start = clock()
    for number in range(budget):
        if number > 0 and seconds is not None and clock() - start >= seconds:
            break
        trial = study.ask(dists) if number > 0 else None
        params = decode(space, trial.params) if trial is not None else {}
        oof = new_oof(len(X), schema) if keep_oof else None
        test_out: list[np.ndarray] | None = [] if test_X is not None else None
        models: list[Any] | None = [] if test_X is not None else None
        set_trial(number)  # published for the executor's hard time limit
        try:
            rec = _run_trial(number, config, schema, params, X, y, splits, metric=m, seed=seed, n_threads=n_threads, clock=clock, oof=oof, timeout=timeout,
                             test_X=test_X, test_out=test_out, models=models)
        finally:
            set_trial(None)
        records.append(rec)
        complete = rec.state == "ok" and len(rec.fold_values) == len(splits)
        if oof is not None and complete:
            oofs[number] = oof
        if test_out and complete:
            tests[number] = np.mean(np.stack(test_out), axis=0)
            if m.oriented(rec.value) > best_value:  # the tuner's rule: the best mean inner score, ties to the earlier trial
                best_value, best_models = m.oriented(rec.value), list(models or [])
        if trial is not None:
            if rec.state == "ok":
                study.tell(trial, rec.value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
    result = _best(records, m)
    result.oof = oofs
    result.test = tests
    result.best_models = best_models if result.best_number in tests else []
    return result


def _run_trial(number, config, schema, params, X, y, splits, *, metric: Metric, seed, n_threads, clock, oof=None, timeout=None,
               test_X=None, test_out=None, models=None) -> TrialRecord:
    t0 = clock()
    values: list[float] = []
    gpu: list[float] = []
    base_fits: list[int] = []
    rounds: list[int] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluate(config, schema, params, X, y, splits, metric=metric, seed=seed, n_threads=n_threads, values=values, gpu=gpu, base_fits=base_fits, oof=oof, timeout=timeout,
                     rounds=rounds, test_X=test_X, test_out=test_out, models=models)
        finite = [v for v in values if math.isfinite(v)]
        value = float(np.mean(finite)) if finite else float("nan")
        state = "ok" if finite else "failed"
        return TrialRecord(number, dict(params), value, state, clock() - t0, values, None if finite else "metric undefined on every inner fold", sum(gpu), sum(base_fits), rounds)
    except FitTimeout as exc:
        log.debug("trial %d of %s timed out: %s", number, config.name, exc)
        return TrialRecord(number, dict(params), float("nan"), "timeout", clock() - t0, values, f"FitTimeout: {exc}", sum(gpu), sum(base_fits), rounds)
    except Exception as exc:  # failure is data: record it, the loop goes on
        log.debug("trial %d of %s failed: %s", number, config.name, exc)
        err = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"
        return TrialRecord(number, dict(params), float("nan"), "failed", clock() - t0, values, err, sum(gpu), sum(base_fits), rounds)


def _best(records: list[TrialRecord], metric: Metric) -> TuneResult:
    ok = [r for r in records if r.state == "ok"]
    if not ok:
        first = next((r.error for r in records if r.error), "no trial completed").splitlines()[0]
        raise TuningFailed(f"all {len(records)} trials failed; first error: {first}", records)
    best = max(ok, key=lambda r: (metric.oriented(r.value), -r.number))
    return TuneResult(best_params=dict(best.params), best_value=best.value, trials=records, best_number=best.number)
