"""Post-hoc ensemble selection over the configurations the other candidates tried while tuning.

The selection itself (:func:`greedy_selection`, Caruana et al. 2004, as AutoML systems use it):
from out-of-fold (validation) predictions of a library of already-tried configurations on the
same rows, start from the best single configuration; in each round add (with replacement) the
configuration whose addition gives the best validation score of the averaged prediction; keep
the best-scoring prefix. The result never scores worse on these validation predictions than the
best single configuration it started from.

The ``ensemble_selection`` candidate runs no trials of its own. On each (task, outer fold):

1. every *library* candidate (by default all other candidates of the suite) tunes as usual; with
   ``Job.keep_oof`` its worker also returns each completed trial's out-of-fold predictions on the
   inner validation rows (outer-training rows only — never the outer test fold). The driver saves
   them to ``RUN_DIR/oof/<task>/<fold>/<candidate>.npz`` (plain arrays, ``allow_pickle=False``)
   *before* it appends the job's record, so a stored job always has its predictions on disk;
2. after all base jobs, the driver builds one :class:`SelectionJob` per (task, fold): the library
   of every saved configuration and its predictions;
3. the worker (:func:`run_selection_job`) runs greedy forward selection with replacement
   (:func:`greedy_selection`) on the validation rows,
   refits each distinct chosen configuration on the whole outer training set, averages their
   test predictions with the selection weights and scores the outer test fold; its record is
   built like every job's (:func:`benchmark.run.records.computed_record`).

Budget fairness: the ensemble's only own cost is the refits of its chosen members (recorded as
``n_fits`` / ``n_base_fits``, CPU seconds in ``cpu_seconds``); its library is the trials the
other candidates already paid for, which the record states (``ensemble.library``) and the
report's fairness audit repeats. It answers "what does an ensemble of the tuned models buy?",
not "which candidate is best at an equal budget".
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.candidates import CandidateConfig
from benchmark.metrics import Metric
from benchmark.results.records import job_id
from benchmark.results.store import load_oof, oof_path
from benchmark.run.limits import fit_limit
from benchmark.run.records import computed_record
from benchmark.run.worker import TaskRef, get_task, schema_of
from benchmark.splits import Fold

DEFAULT_ROUNDS = 25


# --------------------------------------------------------------------------------------------
# Greedy selection with replacement


@dataclass(frozen=True)
class Selection:
    """Chosen members (indices into the library, with repeats) and their weights."""

    members: tuple[int, ...]
    weights: dict[int, float]
    scores: tuple[float, ...]  # validation score after each round (round 0 = best single)
    best_single: int
    best_single_score: float
    score: float


def greedy_selection(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    *,
    n_classes: int,
    rounds: int = DEFAULT_ROUNDS,
) -> Selection:
    """Select an ensemble from ``predictions`` (each (n,) or (n, k), aligned with ``y``).

    Returns the best prefix of ``rounds`` greedy additions; weights are counts / size.
    """
    if not predictions:
        raise ValueError("ensemble selection needs at least one prediction")
    preds = [np.asarray(p, dtype=float) for p in predictions]

    def score(p: np.ndarray) -> float:
        v = metric.fn(y, p, n_classes)
        return metric.oriented(v) if np.isfinite(v) else -np.inf

    singles = [score(p) for p in preds]
    best = int(np.argmax(singles))
    members = [best]
    total = preds[best].copy()
    history = [singles[best]]
    for _ in range(max(0, rounds - 1)):
        n = len(members)
        cand = [score((total + p) / (n + 1)) for p in preds]
        j = int(np.argmax(cand))
        members.append(j)
        total += preds[j]
        history.append(cand[j])
    size = int(np.argmax(history)) + 1  # first best prefix
    chosen = members[:size]
    counts = {i: chosen.count(i) for i in sorted(set(chosen))}
    weights = {i: c / size for i, c in counts.items()}
    sign = 1.0 if metric.greater_is_better else -1.0
    return Selection(
        members=tuple(chosen),
        weights=weights,
        scores=tuple(sign * h for h in history),
        best_single=best,
        best_single_score=sign * singles[best],
        score=sign * history[size - 1],
    )


# --------------------------------------------------------------------------------------------
# The library: out-of-fold predictions saved by the base jobs


def library_names(config: CandidateConfig, all_candidates: Sequence[CandidateConfig]) -> list[str]:
    """The candidates an ensemble_selection entry draws from: its ``library`` param, or every
    other candidate that is not itself post hoc."""
    from benchmark.candidates import get_spec

    wanted = config.fixed.get("library")
    if wanted:
        return [str(n) for n in ([wanted] if isinstance(wanted, str) else wanted)]
    return [c.name for c in all_candidates if c.name != config.name and not get_spec(c.base).post_hoc]


@dataclass(frozen=True, eq=False)
class SelectionJob:
    """One (task, outer fold) of an ensemble_selection candidate, with its library as arrays.

    ``members[i]`` is ``(candidate config, params, trial number, inner score)`` of library entry
    ``i``; ``preds[i]`` its out-of-fold predictions on the outer-training rows (NaN where no
    inner split validated the row).
    """

    task: TaskRef
    candidate: CandidateConfig
    fold: Fold
    metric: str
    seed: int
    split_hash: str
    members: tuple[tuple[CandidateConfig, dict[str, Any], int, float], ...]
    preds: np.ndarray
    rounds: int = DEFAULT_ROUNDS
    n_threads: int = 1
    timeout: float | None = None  # seconds each member refit may take (the suite's ``timeout``)
    bagged: np.ndarray | None = None  # ``final: bag``: each member's stored test prediction (no refit)

    @property
    def key(self) -> str:
        return job_id(self.task.name, self.candidate.name, self.fold.index)


def build_library(run_dir: str | Path, records: Sequence[Mapping[str, Any]], task: str, fold: int, names: Sequence[str],
                  configs: Mapping[str, CandidateConfig]) -> tuple[list[tuple[CandidateConfig, dict[str, Any], int, float]], np.ndarray]:
    """Collect the library for (task, fold) from the stored ok records and their saved predictions
    (an empty array when there is none)."""
    members: list[tuple[CandidateConfig, dict[str, Any], int, float]] = []
    arrays: list[np.ndarray] = []
    # in the order of ``names``, not of the store (which is completion order and varies between
    # executors), so the selection — ties included — is the same however the base jobs ran
    found = {r["candidate"]: r for r in records
             if r.get("task") == task and r.get("fold") == fold and r.get("candidate") in names and r.get("state") == "ok"}
    for rec in (found[n] for n in names if n in found):
        loaded = load_oof(oof_path(run_dir, task, rec["candidate"], fold))
        if loaded is None:
            continue
        by_number = {t["number"]: t for t in rec.get("trials") or []}
        for number, pred in zip(loaded[0].tolist(), loaded[1], strict=True):
            trial = by_number.get(number)
            if trial is None:
                continue
            members.append((configs[rec["candidate"]], dict(trial["params"]), int(number), float(trial["value"])))
            arrays.append(pred)
    return members, (np.stack(arrays) if arrays else np.empty((0,)))


# --------------------------------------------------------------------------------------------
# The post-hoc job: select, refit, score


def run_selection_job(job: SelectionJob) -> dict[str, Any]:
    """Select, refit and score the ensemble of one (task, fold); always returns a record."""
    preset = {"post_hoc": True, "n_trials": 0, "n_failed_trials": 0, "trials": [], "best_params": {}}
    return computed_record(job, _select_and_score, preset=preset)


def _select_and_score(job: SelectionJob) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from benchmark.candidates import build_estimator
    from benchmark.candidates.ensembles import count_base_fits
    from benchmark.candidates.outputs import predict_output
    from benchmark.metrics import get_metric, score_all

    if not job.members:
        raise RuntimeError("empty library: no library candidate completed this fold with saved out-of-fold predictions")
    task = get_task(job.task)
    schema = schema_of(task)
    X, y = task.X, task.y
    train, test = job.fold.train, job.fold.test
    preds = np.asarray(job.preds, dtype=float)
    flat = preds.reshape(preds.shape[0], preds.shape[1], -1)
    rows = np.isfinite(flat).all(axis=(0, 2))
    if not rows.any():
        raise RuntimeError("no outer-training row has a validation prediction from every library member")
    metric = get_metric(job.metric)
    t = time.perf_counter()
    sel = greedy_selection([p[rows] for p in preds], y[train][rows], metric, n_classes=schema.n_classes, rounds=job.rounds)
    select_seconds = time.perf_counter() - t
    test_out: np.ndarray | float = 0.0
    train_out: np.ndarray | float = 0.0
    fit_seconds = predict_seconds = 0.0
    base_fits = 0
    chosen = []
    if job.bagged is not None:  # final: bag — the members' stored test predictions, weighted: no refit
        for idx, weight in sel.weights.items():
            config, params, number, inner = job.members[idx]
            test_out = test_out + weight * np.asarray(job.bagged[idx], dtype=float)
            chosen.append({"candidate": config.name, "trial": number, "weight": weight, "params": params, "inner_score": inner})
    with threadpool_limits(limits=job.n_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for idx, weight in (sel.weights.items() if job.bagged is None else ()):
            config, params, number, inner = job.members[idx]
            est = build_estimator(config, schema, params, seed=job.seed, n_threads=job.n_threads)
            t = time.perf_counter()
            with fit_limit(job.timeout):
                est.fit(X.iloc[train], y[train])
            fit_seconds += time.perf_counter() - t
            base_fits += count_base_fits(est)
            t = time.perf_counter()
            test_out = test_out + weight * predict_output(est, X.iloc[test], schema)
            predict_seconds += time.perf_counter() - t
            train_out = train_out + weight * predict_output(est, X.iloc[train], schema)
            chosen.append({"candidate": config.name, "trial": number, "weight": weight, "params": params, "inner_score": inner})
    single = job.members[sel.best_single]
    library: dict[str, int] = {}
    for config, *_ in job.members:
        library[config.name] = library.get(config.name, 0) + 1
    out: dict[str, Any] = {
        "tune_seconds": select_seconds,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "n_fits": len(chosen) if job.bagged is None else 0,
        "n_base_fits": base_fits,
        "best_inner_score": sel.score,
        "ensemble": {
            "members": chosen,
            "size": len(sel.members),
            "rounds": job.rounds,
            "val_score": sel.score,
            "val_scores": list(sel.scores),
            "best_single": {"candidate": single[0].name, "trial": single[2], "score": sel.best_single_score},
            "library": library,
            "library_size": len(job.members),
            "n_val_rows": int(rows.sum()),
        },
    }
    test_scores = score_all(schema.kind, y[test], np.asarray(test_out), schema.n_classes)
    out.update({f"test_{k}": v for k, v in test_scores.items()})
    if job.bagged is None:
        train_scores = score_all(schema.kind, y[train], np.asarray(train_out), schema.n_classes)
        out.update({f"train_{k}": v for k, v in train_scores.items()})
    else:
        out.update(final="bag", fits_saved=len(chosen))
    return out
