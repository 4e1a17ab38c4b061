"""MLflow: a run directory as one parent run and one child run per (task, candidate, outer fold).

``bench export RUN_DIR --mlflow [URI]`` and ``compare(..., mlflow=...)`` call :func:`log_run`.

- **Parent run** (one per suite run, experiment ``bench/<suite name>``): the suite's settings as
  params, job counts as metrics, commit and versions as tags, the HTML report and the exported
  tables and figures as artifacts.
- **Child run** per job: params = the chosen configuration (``config.<name>``) and the budget
  (``budget.*``); metrics = every number of the record (test and train metrics, fit / predict /
  tune / CPU seconds, fit counts) and a net's epoch history as steps (``epoch.<name>``); tags =
  task, candidate, fold, state, data / split / fold hashes, seed, commit and versions.  A failed
  job is a FAILED run with its error in a tag.  Non-finite numbers are left out.
- **Store:** by default a SQLite file under the run directory (``RUN_DIR/mlflow/mlflow.db``,
  artifacts beside it), which needs no server; MLflow's plain ``./mlruns`` file store is in
  maintenance mode and refuses new use.  ``URI`` may be any tracking URI (``http://…``,
  ``sqlite:///…``) or a folder (a SQLite store in it).
- **Idempotent:** runs are found again by tags (``bench.run`` for the parent, ``bench.job`` for a
  child) and each carries a hash of what was logged (``bench.content``): exporting again leaves an
  unchanged job's run alone and replaces the run of a job whose record changed (a resumed or
  re-run job), so there is always one child per job.

MLflow is an optional extra: ``pip install -e ".[mlflow]"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark.errors import InputError

log = logging.getLogger(__name__)

RUN_TAG, JOB_TAG, CONTENT_TAG = "bench.run", "bench.job", "bench.content"
#: Record fields that are identity or bookkeeping, not measurements.
_NOT_METRICS = {"fold", "repeat", "seed", "pid", "best_trial", "format"}
_MAX_PARAM, _MAX_TAG, _BATCH = 6000, 5000, 900


@dataclass(frozen=True)
class Logged:
    """What :func:`log_run` did."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    created: int  # child runs created
    replaced: int  # child runs whose job's record changed (old run deleted, new one logged)
    unchanged: int  # child runs left as they were


def require_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise InputError('MLflow is not installed; install the extra with: pip install -e ".[mlflow]"', where="--mlflow") from None
    return mlflow


def resolve_uri(text: str | None, run_dir: str | Path) -> tuple[str, str | None]:
    """The tracking URI and, for a local store, the artifact folder's URI."""
    if text and re.match(r"^[a-z][a-z0-9+.-]*:", text) and not re.match(r"^[A-Za-z]:[\\/]", text):
        return text, None
    folder = Path(text) if text else Path(run_dir) / "mlflow"
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow and its database migrations log at INFO on every new store; keep that out of the output."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, lvl in zip(loggers, levels, strict=True):
            lg.setLevel(lvl)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _key(name: str) -> str:
    """An MLflow param / metric key: letters, digits and ``_ - . / :`` and spaces only."""
    return re.sub(r"[^A-Za-z0-9_\-./: ]", "_", name)[:250]


def _ms(iso: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(iso)).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def _common_tags(manifest: dict[str, Any]) -> dict[str, str]:
    tags = {"bench.git_commit": str(manifest.get("git_commit") or ""), "bench.suite_hash": str(manifest.get("suite_hash") or "")}
    for pkg, ver in (manifest.get("versions") or {}).items():
        tags[f"bench.version.{_key(str(pkg))}"] = str(ver)
    return tags


def run_identity(manifest: dict[str, Any]) -> str:
    """Which suite run this is, wherever its folder now lies: its creation time and suite hash."""
    text = json.dumps([manifest.get("created"), manifest.get("suite_hash")], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def job_content(r: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """What the child run of job record ``r`` carries: params, metrics, step metrics, tags."""
    suite = manifest.get("suite") or {}
    params = {f"config.{_key(str(k))}": json.dumps(v, default=str) if not isinstance(v, str) else v
              for k, v in sorted((r.get("best_params") or {}).items())}
    params |= {"budget.trials": str(suite.get("trials")), "budget.seconds": str(suite.get("seconds")),
               "budget.inner": json.dumps(suite.get("inner"), default=str), "tuning_metric": str(r.get("metric", ""))}
    metrics = {_key(k): float(v) for k, v in sorted(r.items()) if _finite(v) and k not in _NOT_METRICS}
    steps: dict[str, list[tuple[int, float]]] = {}
    for i, e in enumerate(r.get("epoch_history") or []):
        if isinstance(e, dict):
            step = int(e["epoch"]) if _finite(e.get("epoch")) else i + 1
            for k, v in sorted(e.items()):
                if k != "epoch" and _finite(v):
                    steps.setdefault(f"epoch.{_key(str(k))}", []).append((step, float(v)))
    tags = {JOB_TAG: json.dumps([r.get("task"), r.get("candidate"), r.get("fold")]), "bench.task": str(r.get("task")),
            "bench.candidate": str(r.get("candidate")), "bench.fold": str(r.get("fold")), "bench.repeat": str(r.get("repeat", 0)),
            "bench.state": str(r.get("state")), "bench.seed": str(r.get("seed", manifest.get("seed"))),
            "bench.data_hash": str(r.get("data_hash", "")), "bench.split_hash": str(r.get("split_hash", "")),
            "bench.fold_hash": str(r.get("fold_hash", "")), "mlflow.runName": f"{r.get('task')} · {r.get('candidate')} · fold {r.get('fold')}"}
    if r.get("state") != "ok" and r.get("error"):
        tags["bench.error"] = str(r.get("error")).splitlines()[0] if str(r.get("error")).strip() else ""
    tags |= _common_tags(manifest)
    return {"params": {k: v[:_MAX_PARAM] for k, v in params.items()}, "metrics": metrics, "steps": steps,
            "tags": {k: v[:_MAX_TAG] for k, v in tags.items()}}


def _hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _log(client: Any, run_id: str, content: dict[str, Any], ts: int, digest: str) -> None:
    """Log params, metrics and tags in as few batches as MLflow allows; the content hash goes in the
    last batch, so that a run interrupted half-way has none and is logged again next time."""
    from mlflow.entities import Metric, Param, RunTag

    items: list[Any] = [Param(k, v) for k, v in content["params"].items()]
    items += [Metric(k, v, ts, 0) for k, v in content["metrics"].items()]
    items += [Metric(k, v, ts, step) for k, pts in content["steps"].items() for step, v in pts]
    items += [RunTag(k, v) for k, v in content["tags"].items()] + [RunTag(CONTENT_TAG, digest)]
    batch: dict[type, list[Any]] = {Param: [], Metric: [], RunTag: []}

    def flush() -> None:
        client.log_batch(run_id, metrics=batch[Metric], params=batch[Param], tags=batch[RunTag])
        for v in batch.values():
            v.clear()

    for item in items:
        kind = type(item)
        if sum(map(len, batch.values())) >= _BATCH or (kind is not Metric and len(batch[kind]) >= 100):
            flush()
        batch[kind].append(item)
    flush()


def _search(client: Any, exp_id: str, filter_string: str) -> list[Any]:
    runs, token = [], None
    while True:
        page = client.search_runs([exp_id], filter_string=filter_string, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def _experiment(client: Any, name: str, artifact_location: str | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is None:
        return client.create_experiment(name, artifact_location=artifact_location)
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def _parent(client: Any, exp_id: str, manifest: dict[str, Any], jobs: list[dict[str, Any]], run_dir: Path) -> str:
    suite = manifest.get("suite") or {}
    ident = run_identity(manifest)
    params = {k: json.dumps(suite.get(k), default=str) if not isinstance(suite.get(k), str) else suite.get(k)
              for k in ("folds", "repeats", "inner", "trials", "seconds", "sampler", "seed", "metric", "learning_curve") if k in suite}
    content = {
        "params": {k: v[:_MAX_PARAM] for k, v in params.items()},
        "metrics": {"n_jobs": float(len(jobs)), "n_ok": float(sum(j.get("state") == "ok" for j in jobs)),
                    "n_failed": float(sum(j.get("state") != "ok" for j in jobs)),
                    "n_tasks": float(len(manifest.get("tasks") or {})), "n_candidates": float(len(manifest.get("candidates") or {}))},
        "steps": {},
        "tags": {RUN_TAG: ident, "mlflow.runName": f"{suite.get('name', 'run')} {manifest.get('created', '')}",
                 "bench.suite": str(suite.get("name", "")), "bench.created": str(manifest.get("created", "")),
                 "bench.run_dir": str(run_dir.resolve())[:_MAX_TAG]} | _common_tags(manifest),
    }
    found = _search(client, exp_id, f"tags.`{RUN_TAG}` = '{ident}'")
    found = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    digest = _hash(content)
    if found:
        run_id = found[0].info.run_id
        for extra in found[1:]:
            client.delete_run(extra.info.run_id)
        if found[0].data.tags.get(CONTENT_TAG) == digest:
            return run_id
        content["params"] = {k: v for k, v in content["params"].items() if k not in found[0].data.params}
    else:
        run_id = client.create_run(exp_id, start_time=_ms(manifest.get("created")), run_name=content["tags"]["mlflow.runName"]).info.run_id
    _log(client, run_id, content, _ms(manifest.get("created")) or 0, digest)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _artifacts(client: Any, run_id: str, files: Sequence[Path]) -> None:
    """Log ``files`` (report, exported tables and figures) on the parent unless the same bytes are there."""
    files = [f for f in files if f.is_file()]
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    if client.get_run(run_id).data.tags.get("bench.artifacts") == digest.hexdigest()[:32]:
        return
    for f in files:
        client.log_artifact(run_id, str(f), artifact_path=None if f.suffix == ".html" else "export")
    client.set_tag(run_id, "bench.artifacts", digest.hexdigest()[:32])


def log_run(run_dir: str | Path, tracking_uri: str | None = None, *, artifacts: Sequence[Path] = (), force: bool = False) -> Logged:
    """Log the run at ``run_dir`` to MLflow (see the module docstring); safe to repeat."""
    require_mlflow()
    from mlflow.tracking import MlflowClient

    from benchmark.results.records import latest_jobs
    from benchmark.results.store import Store, require_unmixed

    run_dir = Path(run_dir)
    require_unmixed(run_dir, force=force)
    store = Store(run_dir)
    manifest = store.read_manifest()
    jobs = latest_jobs(list(store.records()))
    uri, artifact_location = resolve_uri(tracking_uri, run_dir)
    with _quiet():
        client = MlflowClient(tracking_uri=uri)
        name = f"bench/{(manifest.get('suite') or {}).get('name', 'run')}"
        exp_id = _experiment(client, name, artifact_location)
        parent = _parent(client, exp_id, manifest, jobs, run_dir)
        existing: dict[str, list[Any]] = {}
        for r in _search(client, exp_id, f"tags.mlflow.parentRunId = '{parent}'"):
            existing.setdefault(r.data.tags.get(JOB_TAG, ""), []).append(r)
        created = replaced = unchanged = 0
        for job in jobs:
            content = job_content(job, manifest)
            digest = _hash(content)
            old = existing.pop(content["tags"][JOB_TAG], [])
            if old and old[0].data.tags.get(CONTENT_TAG) == digest:
                unchanged += 1
                for extra in old[1:]:
                    client.delete_run(extra.info.run_id)
                continue
            for run in old:
                client.delete_run(run.info.run_id)
            replaced += bool(old)
            created += not old
            start = _ms(job.get("started"))
            run = client.create_run(exp_id, start_time=start, tags={"mlflow.parentRunId": parent}, run_name=content["tags"]["mlflow.runName"])
            _log(client, run.info.run_id, content, start or 0, digest)
            end = start + int(1000 * job["total_seconds"]) if start is not None and _finite(job.get("total_seconds")) else None
            client.set_terminated(run.info.run_id, "FINISHED" if job.get("state") == "ok" else "FAILED", end_time=end)
        for stale in existing.values():  # a job no longer in the records (should not happen; keep one per job)
            for run in stale:
                client.delete_run(run.info.run_id)
        report = run_dir / "report.html"
        _artifacts(client, parent, ([report] if report.is_file() else []) + list(artifacts))
    log.info("MLflow %s: experiment %s, parent run %s: %d child runs created, %d replaced, %d unchanged",
             uri, exp_id, parent, created, replaced, unchanged)
    return Logged(uri, exp_id, parent, created, replaced, unchanged)
