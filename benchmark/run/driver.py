"""Expand a suite into jobs, skip the ones already stored, run the rest, collect records.

The design is ``tasks × candidates × outer folds``. Each task's FoldPlan is made once (per
seed) here in the driver and shipped with its jobs, so every candidate sees the same splits.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark import provenance
from benchmark.candidates import spec_of
from benchmark.config import Suite
from benchmark.errors import InputError
from benchmark.results.layout import RUNS_ROOT, folder_name, latest_run, new_run_dir
from benchmark.results.records import job_id
from benchmark.results.store import (
    BAGGED_DIR,
    LOCK,
    Store,
    lost_bagged,
    require_compatible,
    require_unmixed,
)
from benchmark.run.executors import (
    MODEL_THREADS,
    check_reachable,
    describe,
    make_executor,
    parse_executor,
)
from benchmark.run.worker import Job, TaskRef
from benchmark.splits import FoldPlan, make_plan

log = logging.getLogger(__name__)

DEFAULT_ROOT = RUNS_ROOT


@dataclass
class RunResult:
    """Where a run landed and what it holds: ``run_dir`` (``records.jsonl``, ``results.csv`` …;
    the caller writes the report there), job counts, wall seconds, and the records as a table."""

    run_dir: Path
    n_jobs: int
    n_done_before: int
    n_failed: int
    seconds: float
    n_run: int = -1  # jobs computed by this call (-1: not counted); 0 means the stored results did not change

    def table(self):
        """The run's records as a :class:`benchmark.results.table.ResultTable` (read from ``run_dir``)."""
        from benchmark.results.table import ResultTable

        return ResultTable.from_run(self.run_dir)


def load_tasks(suite: Suite) -> dict[str, Any]:
    """Load every task of the suite, blaming errors on ``tasks[i]``; check the metric applies."""
    from benchmark.data.resolve import load_task

    tasks: dict[str, Any] = {}
    for i, cfg in enumerate(suite.tasks):
        try:
            task = load_task(cfg, base_dir=suite.base_dir, seed=suite.seed)
        except InputError as err:
            raise _blame(err, suite, f"tasks[{i}]") from None
        if not suite.metric_for(task.kind):
            kind = "regression" if task.kind == "regression" else "classification"
            raise InputError(
                f"the suite's metric does not apply to {kind} task '{task.name}'; "
                "give one per kind, e.g. metric: {classification: roc_auc, regression: rmse}",
                where=f"{suite.source}: metric",
            )
        tasks[cfg.name] = task
    return tasks


def _blame(err: InputError, suite: Suite, where: str) -> InputError:
    field = next((f for f in ("target", "groups", "time", "drop", "path", "dataset", "openml", "max_rows") if err.where == f), None)
    loc = f"{suite.source}: {where}" + (f".{field}" if field else "")
    return InputError(err.detail, where=loc)


def check_candidates(suite: Suite, tasks: dict[str, Any]) -> None:
    """Build every candidate per kind of task before any job runs, so bad parameters fail up front.

    Probes the fixed parameters with the low ends (first choices) of the tuned ranges, then with
    the high ends (last choices): constructors reject unknown keyword arguments, and every value
    must pass the estimator's declared ``_parameter_constraints`` where the library declares them
    (scikit-learn).  An InputError names ``candidates[i].params.P`` or ``candidates[i].space.P``.
    """
    from benchmark.candidates import build_estimator
    from benchmark.candidates.custom import declared_violation
    from benchmark.run.worker import schema_of

    by_kind = {task.kind: task for task in tasks.values()}
    for i, cand in enumerate(suite.candidates):
        if spec_of(cand).post_hoc:
            _check_post_hoc(suite, i)
            continue
        where = f"{suite.source}: candidates[{i}]"
        for kind, task in by_kind.items():
            space = cand.space_for(kind)
            for end in (0, -1):
                probe = {k: (v["choices"][end] if v["type"] == "categorical" else v["low" if end == 0 else "high"]) for k, v in space.items()}
                try:
                    est = build_estimator(cand, schema_of(task), probe, seed=0)
                except (TypeError, ValueError) as exc:
                    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise InputError(
                        f"candidate '{cand.name}' ({cand.base}) rejects its parameters: {msg}; check the names under params/space",
                        where=where,
                    ) from None
                bad = declared_violation(est)
                if bad is not None:
                    raise InputError(f"candidate '{cand.name}': {bad[1]}", where=f"{where}.{_field_of(cand, space, bad[0])}")


def _field_of(cand: Any, space: dict[str, Any], param: str) -> str:
    """``params.P`` or ``space.P`` for a parameter named in a constraint error (``model__P`` inside our pipelines)."""
    for name in (param, param.rsplit("__", 1)[-1]):
        if name in space:
            return f"space.{name}"
        if name in cand.fixed:
            return f"{cand.fixed_from.get(name, 'params')}.{name}"
    return f"params.{param}"


def _check_post_hoc(suite: Suite, i: int) -> None:
    """An ensemble_selection entry: only ``library`` (other, non-post-hoc candidates) and ``rounds``."""
    from benchmark.run.ensembles import DEFAULT_ROUNDS, MAX_ROUNDS, library_names

    cand = suite.candidates[i]
    where = f"{suite.source}: candidates[{i}]"
    unknown = sorted(set(cand.fixed) - {"library", "rounds"})
    if unknown:
        raise InputError(f"candidate '{cand.name}' ({cand.base}) takes only params library and rounds, not {', '.join(unknown)}", where=where)
    rounds = cand.fixed.get("rounds", DEFAULT_ROUNDS)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_ROUNDS:
        raise InputError(f"candidate '{cand.name}': rounds must be a whole number from 1 to {MAX_ROUNDS}, got {rounds!r}", where=f"{where}.params.rounds")
    names = {c.name: c for c in suite.candidates}
    library = library_names(cand, suite.candidates)
    bad = [n for n in library if n not in names or spec_of(names[n]).post_hoc]
    if bad or not library:
        raise InputError(f"candidate '{cand.name}': library must name other (not post-hoc) candidates of this suite; "
                         f"{'unknown: ' + ', '.join(map(str, bad)) if bad else 'it is empty'}", where=f"{where}.params.library")


def post_hoc_candidates(suite: Suite) -> list:
    """The suite's candidates that the runner builds after the others (ensemble selection)."""

    return [c for c in suite.candidates if spec_of(c).post_hoc]


def make_plans(suite: Suite, tasks: dict[str, Any]) -> dict[str, FoldPlan]:
    plans = {}
    for i, cfg in enumerate(suite.tasks):
        task = tasks[cfg.name]
        try:
            plans[cfg.name] = make_plan(
                task.y,
                classification=task.kind != "regression",
                folds=suite.folds,
                repeats=suite.repeats,
                inner=suite.inner,
                seed=suite.seed,
                groups=task.groups,
                time=task.time,
            )
        except InputError as err:
            raise InputError(f"task '{cfg.name}': {err.detail}", where=f"{suite.source}: tasks[{i}]") from None
    return plans


def build_manifest(suite: Suite, tasks: dict[str, Any], plans: dict[str, FoldPlan]) -> dict[str, Any]:
    return {
        "format": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suite": suite.to_dict(),
        "suite_hash": suite.hash(),
        "suite_source": suite.source,
        "seed": suite.seed,
        "tasks": {
            name: {
                "source": task.source,
                "kind": task.kind,
                "n_rows": int(task.n_rows),
                "n_features": int(task.n_features),
                "n_categorical": len(task.categorical_columns),
                "n_missing": int(task.X.isna().to_numpy().sum()),  # missing feature cells (imputed inside each fold)
                "classes": [str(c) for c in task.classes] if task.classes is not None else None,
                "metric": suite.metric_for(task.kind),
                "data_hash": task.data_hash,
                "split_hash": plans[name].hash,
                "split_strategy": plans[name].strategy,
            }
            for name, task in tasks.items()
        },
        "candidates": {c.name: c.to_dict() for c in suite.candidates},
        "order": {"tasks": [t.name for t in suite.tasks], "candidates": [c.name for c in suite.candidates]},
        "versions": provenance.versions(),
        "machine": provenance.machine(),
        "git_commit": provenance.git_commit(),
        "command": provenance.command_line(),
    }


def _task_refs(suite: Suite, tasks: dict[str, Any], *, in_memory: bool) -> dict[str, TaskRef]:
    return {
        cfg.name: TaskRef(
            name=cfg.name,
            data_hash=tasks[cfg.name].data_hash,
            config=None if in_memory else cfg,
            base_dir=suite.base_dir,
            seed=suite.seed,
        )
        for cfg in suite.tasks
    }


def expand_jobs(suite: Suite, tasks: dict[str, Any], plans: dict[str, FoldPlan], *, in_memory: bool, n_threads: int) -> list[Job]:
    """The full design, ordered fold-major so partial runs cover every candidate evenly; within
    an outer fold, the costliest jobs first (:func:`job_cost`), so the queue ends on short jobs
    and no worker idles while one long job finishes."""
    from benchmark.run.ensembles import library_names

    jobs = []
    refs = _task_refs(suite, tasks, in_memory=in_memory)
    post_hoc = post_hoc_candidates(suite)
    keep_oof = {n for c in post_hoc for n in library_names(c, suite.candidates)}
    n_folds = max(len(p) for p in plans.values())
    for k in range(n_folds):
        fold_jobs: list[Job] = []
        for cfg in suite.tasks:
            plan = plans[cfg.name]
            if k >= len(plan):
                continue
            fold = plan.folds[k]
            for cand in suite.candidates:
                if cand in post_hoc:
                    continue
                fold_jobs.append(
                    Job(
                        task=refs[cfg.name],
                        candidate=cand,
                        fold=fold,
                        metric=suite.metric_for(tasks[cfg.name].kind),
                        trials=suite.trials,
                        seconds=suite.seconds,
                        sampler=suite.sampler,
                        seed=suite.effective_model_seed + fold.index,
                        split_hash=plan.hash,
                        n_threads=n_threads,
                        learning_curve=tuple(suite.learning_curve),
                        budget_curve=suite.budget_curve,
                        keep_oof=cand.name in keep_oof,
                        timeout=suite.timeout,
                        final=suite.final,
                    )
                )
        jobs.extend(sorted(fold_jobs, key=job_cost, reverse=True))  # stable: ties keep the suite's order
    return jobs


def job_cost(job: Job) -> float:
    """A job's expected CPU, up to a constant: its candidate's :attr:`CandidateSpec.cost` times
    its outer training rows. Used to order the queue only; a user's own estimator counts 1."""
    from benchmark.candidates.catalog import spec_of

    try:
        cost = float(spec_of(job.candidate).cost)
    except InputError:  # a name only a worker knows: ordering is no place to fail
        cost = 1.0
    return cost * len(job.fold.train)


def expand_selection_jobs(suite: Suite, tasks: dict[str, Any], plans: dict[str, FoldPlan], store: Store, *, in_memory: bool, n_threads: int,
                          done: set[str] = frozenset()) -> list:
    """The ensemble_selection jobs not in ``done``, built from the stored base records and their
    saved predictions.

    Call after the base jobs have run: each job carries its (task, fold) library as arrays.
    """
    from benchmark.run.ensembles import (
        DEFAULT_ROUNDS,
        SelectionJob,
        build_library,
        library_names,
        lost_predictions,
    )

    post_hoc = post_hoc_candidates(suite)
    if not post_hoc:
        return []
    records = [r for r in store.records() if r.get("type") == "job"]
    configs = {c.name: c for c in suite.candidates}
    refs = _task_refs(suite, tasks, in_memory=in_memory)
    jobs = []
    for cfg in suite.tasks:
        plan = plans[cfg.name]
        for fold in plan.folds:
            for cand in post_hoc:
                if job_id(cfg.name, cand.name, fold.index) in done:
                    continue
                names = library_names(cand, suite.candidates)
                members, preds = build_library(store.root, records, cfg.name, fold.index, names, configs)
                bagged = None
                if suite.final == "bag":  # score the selection on the members' stored test predictions: no refit
                    from benchmark.run.bagged import library_bagged

                    members, preds, bagged = library_bagged(store.root, cfg.name, fold.index, members, preds)
                jobs.append(SelectionJob(
                    task=refs[cfg.name], candidate=cand, fold=fold, metric=suite.metric_for(tasks[cfg.name].kind),
                    seed=suite.effective_model_seed + fold.index, split_hash=plan.hash, members=tuple(members),
                    preds=preds, rounds=int(cand.fixed.get("rounds", DEFAULT_ROUNDS)),
                    n_threads=n_threads, timeout=suite.timeout, lost=tuple(lost_predictions(store.root, records, cfg.name, fold.index, names)),
                    bagged=bagged,
                ))
    return jobs


def settled_post_hoc(suite: Suite, plans: dict[str, FoldPlan], store: Store) -> set[str]:
    """The post-hoc job keys whose latest record stands: ok, or failed for a reason of its own.

    One that failed for missing inputs is run again: ``error_kind`` ``infrastructure``, or any
    failure while a library candidate's saved predictions are lost (how runs stored before this
    rule recorded it: "empty library")."""
    from benchmark.run.ensembles import library_names, lost_predictions

    records = [r for r in store.records() if r.get("type") == "job"]
    latest = {r["key"]: r for r in records}
    settled = set()
    for cand in post_hoc_candidates(suite):
        names = library_names(cand, suite.candidates)
        for task, plan in plans.items():
            for fold in plan.folds:
                rec = latest.get(key := job_id(task, cand.name, fold.index))
                if rec is None or (rec.get("state") != "ok" and (
                        rec.get("error_kind") == "infrastructure" or lost_predictions(store.root, records, task, fold.index, names))):
                    continue
                settled.add(key)
    return settled


def lost_base_jobs(suite: Suite, plans: dict[str, FoldPlan], store: Store, base_jobs: list[Job], settled: set[str]) -> list[Job]:
    """The completed base jobs to run again because a post-hoc job still to run needs their
    out-of-fold predictions and those are gone (the same seed gives the same record back)."""
    from benchmark.run.ensembles import library_names, lost_predictions

    records = [r for r in store.records() if r.get("type") == "job"]
    keys = set()
    for cand in post_hoc_candidates(suite):
        names = library_names(cand, suite.candidates)
        for task, plan in plans.items():
            for fold in plan.folds:
                if job_id(task, cand.name, fold.index) not in settled:
                    keys.update(job_id(task, n, fold.index) for n in lost_predictions(store.root, records, task, fold.index, names))
    return [j for j in base_jobs if j.key in keys]


def default_run_dir(suite: Suite, root: Path = DEFAULT_ROOT) -> Path:
    return new_run_dir(suite.name, root)


def latest_run_dir(suite: Suite, root: Path = DEFAULT_ROOT) -> Path | None:
    return latest_run(folder_name(suite.name), root)


def run_suite(
    suite: Suite,
    *,
    out: str | Path | None = None,
    jobs: int = 1,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    tasks: dict[str, Any] | None = None,
    isolate: bool = False,
    executor: str = "local",
) -> RunResult:
    """Run (or resume) a suite into a run directory; return where it landed.

    Writes ``manifest.json``, ``records.jsonl`` and the exports (``results.csv`` …), not the
    HTML report: the callers (``bench run``, :func:`benchmark.api.compare`) write that after.

    ``tasks`` passes already-loaded in-memory tasks (the library call); otherwise the suite's
    task entries are loaded here and by each worker from their source.  ``isolate`` runs even
    ``jobs=1`` in a worker process (``bench run`` does; so does any suite that sets ``timeout``
    or ``retries``), so a crashing or hanging fit costs only its own job.  ``executor``:
    ``local``, ``dask-local`` or a Dask scheduler address
    (:func:`benchmark.run.executors.parse_executor`); the manifest records it, but it is no
    part of the resume check (results do not depend on it).
    """
    t0 = time.perf_counter()
    executor = parse_executor(executor)
    check_reachable(executor)  # before anything is written
    isolate = isolate or suite.timeout is not None or suite.retries > 0
    _refuse_in_process_candidates(suite, out_of_process=jobs > 1 or isolate or executor != "local")
    in_memory = tasks is not None
    tasks = tasks if tasks is not None else load_tasks(suite)
    plans = make_plans(suite, tasks)
    manifest = build_manifest(suite, tasks, plans)
    manifest["executor"] = describe(executor, jobs)
    run_dir = _choose_run_dir(suite, out, resume)
    store = Store(run_dir)
    _check_resumable(store, manifest, resume=resume, force=force)  # reads only: a refusal leaves the folder as it was
    fresh = not store.exists()
    if fresh:  # a new run has every job to run: refuse bad candidates before the folder is made
        check_candidates(suite, tasks)
    with store.writing():  # one writer per run directory; a second driver stops here
        _check_resumable(store, manifest, resume=resume, force=force)  # again: another writer may have come first
        n_total, n_done, n_failed, n_run = _run_locked(suite, store, manifest, tasks, plans, in_memory=in_memory, jobs=jobs,
                                                       isolate=isolate, executor=executor, progress=progress)
        from benchmark.results.table import RESULTS_CSV, export_run

        if n_run or not (store.up_to_date(RESULTS_CSV) and store.up_to_date("trials.csv")):  # nothing new: the exports stand
            export_run(run_dir)
    return RunResult(run_dir, n_total, n_done, n_failed, time.perf_counter() - t0, n_run=n_run)


def _check_resumable(store: Store, manifest: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Refuse (without writing) a run directory that holds a run unless resuming a compatible one."""
    if store.exists():
        if not resume:
            raise InputError(f"{store.root} already holds a run; pass --resume to continue it, or choose another --out")
        require_compatible(store.read_manifest(), manifest, force=force, where=str(store.root))
        require_unmixed(store.root, force=force)  # records of other data/splits would be skipped as "done"


def _run_locked(suite: Suite, store: Store, manifest: dict[str, Any], tasks: dict[str, Any], plans: dict[str, FoldPlan], *,
                in_memory: bool, jobs: int, isolate: bool, executor: Any, progress: bool) -> tuple[int, int, int, int]:
    """The body of :func:`run_suite`, run while it holds the run directory's lock:
    (jobs in all, jobs done before, jobs that failed now, jobs computed now). ``isolate`` already
    includes what the suite's ``timeout`` and ``retries`` ask for."""
    if store.exists():
        store.repair()
        manifest["created"] = store.read_manifest().get("created", manifest["created"])
        manifest["resumed"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    done = store.done_keys()
    lost = lost_bagged(store.root, list(store.records())) if suite.final == "bag" else []
    if lost:
        log.warning("%s: %d job(s) lost their stored test predictions (%s/); they will run again", store.root, len(lost), BAGGED_DIR)
        done -= set(lost)
    all_jobs = expand_jobs(suite, tasks, plans, in_memory=in_memory, n_threads=MODEL_THREADS)
    todo = [j for j in all_jobs if j.key not in done]
    post_keys = {job_id(name, c.name, f.index) for c in post_hoc_candidates(suite) for name, plan in plans.items() for f in plan.folds}
    if store.exists() and (todo or post_keys - done):  # a finished run being re-run builds no estimator (nor imports its library)
        check_candidates(suite, tasks)
    store.write_manifest(manifest)
    n_post = len(post_keys)
    n_total = len(all_jobs) + n_post
    n_done = len(all_jobs) - len(todo) + len(post_keys & settled_post_hoc(suite, plans, store))
    log.info("%s: %d jobs, %d already done, %d to run", store.root, n_total, n_done, n_total - n_done)
    pools: list[Any] = []  # one executor for both phases, started only if there is work

    def pool():
        if not pools:
            pools.append(make_executor(jobs, tasks if in_memory else {}, retries=suite.retries, isolate=isolate, executor=executor))
        return pools[0]

    n_run = len(todo)
    try:
        base_fn = None
        if suite.final == "bag":
            from benchmark.run.tuned_ensemble import run_bag_job as base_fn
        n_failed = _execute(todo, store, pool, progress=progress, fn=base_fn) if todo else 0
        if n_post:
            from benchmark.run.ensembles import run_selection_job

            settled = settled_post_hoc(suite, plans, store)
            redo = lost_base_jobs(suite, plans, store, all_jobs, settled)
            if redo:  # their saved predictions are gone: rerun them before selecting
                log.warning("%d base job(s) lost their out-of-fold predictions (oof/); running them again", len(redo))
                n_failed += _execute(redo, store, pool, progress=progress)
                n_run += len(redo)
            second = expand_selection_jobs(suite, tasks, plans, store, in_memory=in_memory, n_threads=MODEL_THREADS, done=settled)
            if second:
                n_run += len(second)
                n_failed += _execute(second, store, pool, progress=progress, fn=run_selection_job)
    except BaseException:  # Ctrl-C or an error in the driver: stop the workers, keep what is stored
        for p in pools:
            p.close(cancel=True)
        raise
    for p in pools:
        p.close()
    return n_total, n_done, n_failed, n_run


def _refuse_in_process_candidates(suite: Suite, *, out_of_process: bool) -> None:
    """A candidate added by ``register()`` in this process cannot run in worker processes: say so up front."""
    from benchmark.candidates.catalog import registered_in_process

    if not out_of_process:
        return
    for i, cand in enumerate(suite.candidates):
        if cand.estimator is None and registered_in_process(cand.base):
            raise InputError(
                f"candidate '{cand.base}' was added with register() in this process, and worker processes do not see it; "
                "pass a benchmark.Candidate (sent to the workers by value), use jobs=1, or list its module in BENCHMARK_PLUGINS",
                where=f"{suite.source}: candidates[{i}]",
            )


def _choose_run_dir(suite: Suite, out: str | Path | None, resume: bool) -> Path:
    if out is not None:
        p = Path(out)
        if p.exists() and not p.is_dir():
            raise InputError(f"--out {out}: is a file, not a folder; give a new folder for the run")
        if p.is_dir() and not Store(p).exists() and any(f.name != LOCK for f in p.iterdir()):
            raise InputError(f"--out {out}: folder is not empty and holds no run (manifest.json); give a new or empty folder")
        return p
    if resume:
        latest = latest_run_dir(suite)
        if latest is None:
            raise InputError(f"no earlier run of suite '{suite.name}' under {DEFAULT_ROOT}/ to resume; pass --out DIR")
        return latest
    return default_run_dir(suite)


def _execute(todo: list, store: Store, pool: Callable[[], Any], *, progress: bool, fn=None) -> int:
    """Run the jobs on ``pool()`` (an executor) through ``fn`` (default
    :func:`benchmark.run.worker.run_job`), appending each record as it arrives; return the number
    of failures. The caller closes the executor.

    A record's ``_oof`` (out-of-fold predictions for ensemble selection) and ``_test`` (a ``bag``
    job's test predictions) are saved to their own files first and never enter ``records.jsonl``.
    """
    from benchmark.results.store import save_bagged, save_oof
    from benchmark.run.worker import run_job

    n_failed = 0
    failures: dict[str, int] = {}
    bar = _progress_bar(len(todo), enabled=progress)
    try:
        for rec in pool().run(todo, fn or run_job):
            if "_oof" in rec:
                oof = rec.pop("_oof")
                rec["oof_trials"] = 0 if oof is None else len(oof["numbers"])
                if oof is not None:
                    save_oof(store.root, rec, oof)
            bagged = rec.pop("_test", None)
            rec.pop("_oof_all", None)
            if bagged is not None:
                save_bagged(store.root, rec, bagged)
            store.append(rec)
            if rec.get("state") != "ok":
                n_failed += 1
                failures[rec["candidate"]] = failures.get(rec["candidate"], 0) + 1
                log.debug("job failed: %s %s fold %s: %s", rec["task"], rec["candidate"], rec["fold"], rec.get("error"))
            bar.set_postfix_str(f"failed={n_failed}", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    if failures:
        summary = ", ".join(f"{c}: {n}" for c, n in sorted(failures.items()))
        log.warning("%d job(s) failed (%s); see the report's failures or records.jsonl", n_failed, summary)
    return n_failed


def _progress_bar(total: int, *, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="jobs", unit="job", disable=not enabled or total == 0, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

