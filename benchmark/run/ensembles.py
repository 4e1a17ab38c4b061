"""Post-hoc ensemble selection over the configurations the other candidates tried while tuning.

The selection itself (:func:`benchmark.run.selection.greedy_selection`, Caruana et al. 2004, as
AutoML systems use it, with their safeguards; see that module):
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
   *before* it appends the job's record (which says how many trials it saved: ``oof_trials``),
   so a stored job always has its predictions on disk; when they are lost later, the driver
   reruns that base job before selecting (:func:`lost_predictions`,
   :func:`benchmark.run.driver.lost_base_jobs`), and an ensemble that still lacks them is stored
   as retryable (``error_kind: infrastructure``);
2. after all base jobs, the driver builds one :class:`SelectionJob` per (task, fold): the library
   of every saved configuration and its predictions;
3. the worker (:func:`run_selection_job`) runs greedy forward selection with replacement
   (:func:`benchmark.run.selection.greedy_selection`, which first drops constant members, members
   no better than a constant and members beyond a cap set by the number of validation rows) on
   the validation rows of every inner split, scoring each split's rows on their own; it also
   records, per library candidate, the selection over that candidate's own trials ("tuned +
   ensembled", ``ensemble.per_candidate``: weights per trial number, validation score only),
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

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.candidates import CandidateConfig
from benchmark.results.records import job_id, latest_jobs
from benchmark.results.store import load_oof, oof_path
from benchmark.run.limits import fit_limit
from benchmark.run.records import computed_record, lost_record
from benchmark.run.selection import (
    DEFAULT_ROUNDS,
    MAX_ROUNDS,
    Selection,
    greedy_selection,
    library_cap,
    per_candidate_selection,
)
from benchmark.run.worker import TaskRef, get_task, schema_of
from benchmark.splits import Fold

__all__ = ["DEFAULT_ROUNDS", "MAX_ROUNDS", "Selection", "SelectionJob", "build_library", "greedy_selection", "library_names", "run_selection_job"]


# --------------------------------------------------------------------------------------------
# The library: out-of-fold predictions saved by the base jobs


def library_names(config: CandidateConfig, all_candidates: Sequence[CandidateConfig]) -> list[str]:
    """The candidates an ensemble_selection entry draws from: its ``library`` param, or every
    other candidate that is not itself post hoc."""
    from benchmark.candidates import spec_of

    wanted = config.fixed.get("library")
    if wanted:
        return [str(n) for n in ([wanted] if isinstance(wanted, str) else wanted)]
    return [c.name for c in all_candidates if c.name != config.name and not spec_of(c).post_hoc]


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
    lost: tuple[str, ...] = ()  # library candidates whose saved predictions are gone (see lost_predictions)
    bagged: np.ndarray | None = None  # ``final: bag``: each member's stored test prediction (no refit)

    @property
    def key(self) -> str:
        return job_id(self.task.name, self.candidate.name, self.fold.index)


def _latest_ok(records: Sequence[Mapping[str, Any]], task: str, fold: int, names: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """The latest record of each library candidate on (task, fold), where that record is ok."""
    latest = {r["candidate"]: r for r in latest_jobs(records)
              if r.get("task") == task and r.get("fold") == fold and r.get("candidate") in names}
    return {n: r for n, r in latest.items() if r.get("state") == "ok"}


def lost_predictions(run_dir: str | Path, records: Sequence[Mapping[str, Any]], task: str, fold: int, names: Sequence[str]) -> list[str]:
    """The library candidates whose completed job on (task, fold) saved out-of-fold predictions
    that are no longer readable (``oof/`` deleted, a run copied without it, a damaged file).

    A record says how many trials it saved (``oof_trials``); one written before that field
    existed is taken to have saved some."""
    return [n for n, r in _latest_ok(records, task, fold, names).items()
            if r.get("oof_trials", 1) and load_oof(oof_path(run_dir, task, n, fold)) is None]


def build_library(run_dir: str | Path, records: Sequence[Mapping[str, Any]], task: str, fold: int, names: Sequence[str],
                  configs: Mapping[str, CandidateConfig]) -> tuple[list[tuple[CandidateConfig, dict[str, Any], int, float]], np.ndarray]:
    """Collect the library for (task, fold) from the latest ok records and their saved predictions
    (an empty array when there is none)."""
    members: list[tuple[CandidateConfig, dict[str, Any], int, float]] = []
    arrays: list[np.ndarray] = []
    # in the order of ``names``, not of the store (which is completion order and varies between
    # executors), so the selection — ties included — is the same however the base jobs ran
    found = _latest_ok(records, task, fold, names)
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


def inner_groups(fold: Fold) -> np.ndarray:
    """For each outer-training row, the inner split that validated it (-1: none)."""
    groups = np.full(len(fold.train), -1, dtype=np.int64)
    for s, (_, val_idx) in enumerate(fold.inner):
        groups[val_idx] = s
    return groups


def _excluded(sel: Selection) -> dict[str, int]:
    """How many library members the screen dropped, by reason."""
    out: dict[str, int] = {}
    for reason in sel.excluded.values():
        out[reason] = out.get(reason, 0) + 1
    return out


def _own_summary(idx: list[int], sel: Selection, members) -> dict[str, Any]:
    """A candidate's "tuned + ensembled" selection over its own trials (validation only: the
    weights per trial number, for a scorer that holds the trials' test predictions)."""
    return {
        "weights": {str(members[idx[i]][2]): w for i, w in sel.weights.items()},
        "val_score": sel.score,
        "best_single": {"trial": members[idx[sel.best_single]][2], "score": sel.best_single_score},
    }


def run_selection_job(job: SelectionJob) -> dict[str, Any]:
    """Select, refit and score the ensemble of one (task, fold); always returns a record."""
    preset = {"post_hoc": True, "n_trials": 0, "n_failed_trials": 0, "trials": [], "best_params": {}}
    if job.lost:  # missing inputs are not a model failure: stored as retryable, never selected without them
        rec = lost_record(job, state="failed", kind="infrastructure", pid=os.getpid(),
                          error=f"out-of-fold predictions of {', '.join(job.lost)} are missing from oof/ and could not be recomputed; "
                                "run `bench run SUITE --out RUN_DIR --resume` to rerun those base jobs and this ensemble")
        return {**rec, **preset}
    return computed_record(job, _select_and_score, preset=preset)


@dataclass(frozen=True)
class ValidationLibrary:
    """What the selection sees: each member's predictions on the rows every member validated,
    those rows' targets, the inner split that validated each, and each member's candidate."""

    preds: list[np.ndarray]
    y: np.ndarray
    groups: np.ndarray
    labels: list[str]
    n_classes: int


def validation_library(job: SelectionJob) -> ValidationLibrary:
    """The selection's inputs for ``job`` (raises when there is nothing to select from)."""
    if not job.members:
        raise RuntimeError("empty library: no library candidate completed this fold with saved out-of-fold predictions")
    task = get_task(job.task)
    preds = np.asarray(job.preds, dtype=float)
    flat = preds.reshape(preds.shape[0], preds.shape[1], -1)
    rows = np.isfinite(flat).all(axis=(0, 2))
    if not rows.any():
        raise RuntimeError("no outer-training row has a validation prediction from every library member")
    return ValidationLibrary([p[rows] for p in preds], task.y[job.fold.train][rows], inner_groups(job.fold)[rows],
                             [m[0].name for m in job.members], schema_of(task).n_classes)


def refit_and_score(job: SelectionJob, weights: Mapping[int, float]) -> dict[str, Any]:
    """Refit each weighted library member on the outer training rows, average their predictions
    with ``weights`` and score the outer test (and training) rows: the record's cost and score fields."""
    from threadpoolctl import threadpool_limits

    from benchmark.candidates import build_estimator
    from benchmark.candidates.ensembles import count_base_fits
    from benchmark.candidates.outputs import predict_output
    from benchmark.metrics import score_all

    task = get_task(job.task)
    schema = schema_of(task)
    X, y = task.X, task.y
    train, test = job.fold.train, job.fold.test
    test_out: np.ndarray | float = 0.0
    train_out: np.ndarray | float = 0.0
    fit_seconds = predict_seconds = 0.0
    base_fits = 0
    chosen = []
    if job.bagged is not None:  # final: bag — the members' stored test predictions, weighted: no refit
        for idx, weight in weights.items():
            config, params, number, inner = job.members[idx]
            test_out = test_out + weight * np.asarray(job.bagged[idx], dtype=float)
            chosen.append({"candidate": config.name, "trial": number, "weight": weight, "params": params, "inner_score": inner})
    with threadpool_limits(limits=job.n_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for idx, weight in (weights.items() if job.bagged is None else ()):
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
    out: dict[str, Any] = {"fit_seconds": fit_seconds, "predict_seconds": predict_seconds, "n_fits": len(chosen) if job.bagged is None else 0,
                           "n_base_fits": base_fits, "members": chosen}
    out.update({f"test_{k}": v for k, v in score_all(schema.kind, y[test], np.asarray(test_out), schema.n_classes).items()})
    if job.bagged is None:
        out.update({f"train_{k}": v for k, v in score_all(schema.kind, y[train], np.asarray(train_out), schema.n_classes).items()})
    else:
        out.update(final="bag", fits_saved=len(chosen))
    return out


def _select_and_score(job: SelectionJob) -> dict[str, Any]:
    from benchmark.metrics import get_metric

    lib = validation_library(job)
    metric = get_metric(job.metric)
    cap = library_cap(len(lib.y))
    t = time.perf_counter()
    sel = greedy_selection(lib.preds, lib.y, metric, n_classes=lib.n_classes, rounds=job.rounds, groups=lib.groups, labels=lib.labels, max_size=cap)
    own = per_candidate_selection(lib.preds, lib.y, metric, lib.labels, n_classes=lib.n_classes, rounds=job.rounds, groups=lib.groups, max_size=cap)
    select_seconds = time.perf_counter() - t
    out = refit_and_score(job, sel.weights)
    single = job.members[sel.best_single]
    library: dict[str, int] = {}
    for config, *_ in job.members:
        library[config.name] = library.get(config.name, 0) + 1
    out.update({
        "tune_seconds": select_seconds,
        "best_inner_score": sel.score,
        "ensemble": {
            "members": out.pop("members"),
            "size": len(sel.members),
            "rounds": job.rounds,
            "val_score": sel.score,
            "val_scores": list(sel.scores),
            "best_single": {"candidate": single[0].name, "trial": single[2], "score": sel.best_single_score},
            "library": library,
            "library_size": len(job.members),
            "library_cap": cap,
            "excluded": _excluded(sel),
            "baseline": sel.baseline,
            "fell_back": sel.fell_back,
            "n_val_rows": len(lib.y),
            "per_candidate": {name: _own_summary(idx, s, job.members) for name, (idx, s) in own.items()},
        },
    })
    return out
