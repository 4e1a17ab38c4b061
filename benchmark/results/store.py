"""The run directory: a manifest plus an append-only record of completed jobs.

Layout of a run directory::

    manifest.json    suite as run, seed, data and split hashes, library versions, machine, commit
    records.jsonl    one JSON line per completed job (with its tuning trials), appended and fsynced
    results.csv      tidy export: one row per task × candidate × outer fold (rebuilt from records)
    trials.csv       one row per tuning trial (rebuilt from records)
    report.html      the report (rebuilt from records by ``bench report``)
    oof/             out-of-fold predictions of each base job's tuning trials, for post-hoc
                     ensembles: oof/<task>/<fold>/<candidate>.npz (``allow_pickle=False``)
    test/            with ``final: bag``, every completed trial's bagged prediction on the outer
                     test fold: test/<task>/<fold>/<candidate>.npz (float32, ``allow_pickle=False``)

A job's line is written in one ``write`` and flushed to disk before the job counts as done, so
a run killed at any moment loses at most the jobs in flight. A half-written last line is
detected on open and cut off before anything is appended.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import IncompatibleRunError, InputError
from benchmark.serialize import jsonable, write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
OOF_DIR = "oof"
BAGGED_DIR = "test"


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(jsonable(data), indent=2, sort_keys=True))


class Store:
    """Append-only job records of one run directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- manifest -----------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def records_path(self) -> Path:
        return self.root / RECORDS

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            raise InputError(f"{self.root}: not a run directory (no {MANIFEST}); give the folder `bench run` wrote")
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{self.manifest_path}: corrupt JSON ({exc.msg}); the run directory is damaged") from None

    def read_manifest_if_present(self) -> dict[str, Any]:
        """The manifest as a dict; empty when there is none or it is not an object (an exported
        table read without its run), :class:`InputError` when it cannot be read."""
        if not self.manifest_path.exists():
            return {}
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{self.manifest_path}: not valid JSON ({exc}); the run directory is damaged") from exc
        return manifest if isinstance(manifest, dict) else {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.manifest_path, manifest)

    # -- records ------------------------------------------------------------------------------
    def records(self) -> Iterator[dict[str, Any]]:
        """Every complete record in order; a torn last line (killed mid-write) is skipped."""
        if not self.records_path.is_file():
            return
        with self.records_path.open("rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.endswith(b"\n"):
                    log.warning("%s: dropping a half-written last record (line %d)", self.records_path, lineno)
                    return
                try:
                    yield json.loads(raw)
                except json.JSONDecodeError:
                    log.warning("%s: skipping unreadable line %d", self.records_path, lineno)

    def up_to_date(self, name: str) -> bool:
        """Whether the file ``name`` in the run directory exists and was written after the last record
        (so rebuilding it from the records would give the same file)."""
        out = self.root / name
        try:
            return out.stat().st_mtime_ns >= self.records_path.stat().st_mtime_ns
        except OSError:
            return False

    def done_keys(self) -> set[str]:
        return {r["key"] for r in self.records() if r.get("type") == "job"}

    def repair(self) -> int:
        """Cut a half-written last line off the records file; return the bytes removed."""
        path = self.records_path
        if not path.is_file():
            return 0
        size = path.stat().st_size
        if size == 0:
            return 0
        with path.open("rb+") as fh:
            fh.seek(0)
            data = fh.read()
            if data.endswith(b"\n"):
                return 0
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)
        log.warning("%s: removed a half-written record (%d bytes)", path, size - keep)
        return size - keep

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as a single line and fsync it."""
        line = json.dumps(jsonable(record), sort_keys=True, allow_nan=False) + "\n"
        self.root.mkdir(parents=True, exist_ok=True)
        with self.records_path.open("ab") as fh:
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


def check_compatible(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two manifests in ways that change results (empty list: compatible)."""
    diffs: list[str] = []
    if old.get("suite_hash") != new.get("suite_hash"):
        diffs.extend(_suite_diffs(_plain(old.get("suite", {})), _plain(new.get("suite", {}))) or ["the suite changed"])
    old_tasks, new_tasks = old.get("tasks", {}), new.get("tasks", {})
    for name in sorted(set(old_tasks) | set(new_tasks)):
        a, b = old_tasks.get(name), new_tasks.get(name)
        if a is None or b is None:
            continue  # covered by the suite diff
        for field in ("data_hash", "split_hash"):
            if a.get(field) != b.get(field):
                diffs.append(f"task '{name}': {field.replace('_', ' ')} changed ({str(a.get(field))[:12]} → {str(b.get(field))[:12]})")
    old_v, new_v = old.get("versions", {}), new.get("versions", {})
    for lib in sorted(set(old_v) | set(new_v)):
        if lib != "python" and old_v.get(lib) != new_v.get(lib):
            diffs.append(f"{lib} version {old_v.get(lib)} → {new_v.get(lib)}")
    return diffs


def _suite_diffs(a: Any, b: Any, prefix: str = "suite") -> list[str]:
    """Each differing leaf as ``path: old → new``, e.g. ``suite.candidates[linear].spaces.classification.C.high: 100 → 10``.

    Mappings are compared key by key, lists of named entries (tasks, candidates) by name, other
    values as a whole. ``description`` is ignored: it changes no result.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key != "description" and a.get(key) != b.get(key):
                out.extend(_suite_diffs(a.get(key), b.get(key), f"{prefix}.{key}"))
        return out
    if _named_list(a) and _named_list(b):
        old, new = {e["name"]: e for e in a}, {e["name"]: e for e in b}
        out = [f"{prefix}: '{n}' removed" for n in old if n not in new]
        out += [f"{prefix}: '{n}' added" for n in new if n not in old]
        for n in (n for n in old if n in new and old[n] != new[n]):
            out.extend(_suite_diffs(old[n], new[n], f"{prefix}[{n}]"))
        if not out and [e["name"] for e in a] != [e["name"] for e in b]:
            out.append(f"{prefix}: order {[e['name'] for e in a]} → {[e['name'] for e in b]}")
        return out
    return [f"{prefix}: {_short_json(a)} → {_short_json(b)}"]


def _plain(value: Any) -> Any:
    """As stored in JSON (tuples become lists), so a fresh manifest compares equal to a stored one."""
    return json.loads(json.dumps(jsonable(value), sort_keys=True))


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in value) and len({e["name"] for e in value}) == len(value)


def _short_json(value: Any, limit: int = 80) -> str:
    text = json.dumps(jsonable(value), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mixed_records(manifest: dict[str, Any], records: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[str]:
    """Job records whose data or split hash is not the manifest's for their task (e.g. appended from another run).

    Returns one line per kind of mismatch (task and field, how many records, manifest → record
    hash, the first line number); empty when every record belongs to this run.
    """
    tasks = manifest.get("tasks") or {}
    found: dict[tuple[str, str, str], list[int]] = {}
    for lineno, rec in enumerate(records, 1):
        if rec.get("type") != "job":
            continue
        name = str(rec.get("task"))
        if name not in tasks:
            found.setdefault((name, "task", ""), []).append(lineno)
            continue
        for field in ("data_hash", "split_hash"):
            if rec.get(field) != tasks[name].get(field):
                found.setdefault((name, field, str(rec.get(field))), []).append(lineno)
    out = []
    for (name, field, theirs), lines in found.items():
        if field == "task":
            out.append(f"{len(lines)} record(s) of task '{name}', which this run's manifest does not have (first: record {lines[0]})")
        else:
            ours = str(tasks[name].get(field))
            out.append(f"task '{name}': {len(lines)} record(s) with {field.replace('_', ' ')} {theirs[:12]}, "
                       f"the manifest says {ours[:12]} (first: record {lines[0]})")
    return out


def read_unmixed(store: Store, *, force: bool = False,
                 hint: str = " (remove those lines or rerun into a new folder; --force goes on anyway)",
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The manifest and the records of a run directory; IncompatibleRunError (ending in ``hint``)
    when the records mix data or splits, unless ``force``, which only logs it."""
    manifest, records = store.read_manifest(), list(store.records())
    problems = mixed_records(manifest, records)
    if problems and not force:
        raise IncompatibleRunError(
            f"{store.records_path}: records from different data or splits are mixed: " + "; ".join(problems) + hint
        )
    if problems:
        log.warning("reporting a run with mixed records (--force): %s", "; ".join(problems))
    return manifest, records


def require_unmixed(root: str | Path, *, force: bool = False) -> None:
    """Refuse (IncompatibleRunError) a run directory whose records mix data or splits; ``force`` only logs it."""
    read_unmixed(Store(root), force=force)


def require_compatible(old: dict[str, Any], new: dict[str, Any], *, force: bool, where: str) -> None:
    diffs = check_compatible(old, new)
    if diffs and not force:
        raise IncompatibleRunError(f"{where}: cannot resume, results would mix: " + "; ".join(diffs) + " (start a new run, or pass --force)")
    if diffs:
        log.warning("resuming despite differences (--force): %s", "; ".join(diffs))


# --------------------------------------------------------------------------------------------
# Out-of-fold predictions saved by the base jobs (the library of post-hoc ensembles)


def _safe(name: str) -> str:
    """A file-name-safe, collision-free form of a task or candidate name."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    return f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def oof_path(run_dir: str | Path, task: str, candidate: str, fold: int) -> Path:
    """Where the out-of-fold predictions of one base job live."""
    return Path(run_dir) / OOF_DIR / _safe(task) / str(int(fold)) / f"{_safe(candidate)}.npz"


def save_oof(run_dir: str | Path, rec: Mapping[str, Any], payload: Mapping[str, np.ndarray]) -> Path:
    """Write a job's ``{"numbers", "preds"}`` atomically (temp file, fsync, rename)."""
    return _save_arrays(oof_path(run_dir, rec["task"], rec["candidate"], rec["fold"]), payload, float)


def _save_arrays(path: Path, payload: Mapping[str, np.ndarray], dtype: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, numbers=np.asarray(payload["numbers"], dtype=np.int64), preds=np.asarray(payload["preds"], dtype=dtype))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def bagged_path(run_dir: str | Path, task: str, candidate: str, fold: int) -> Path:
    """Where the bagged test-fold predictions of one ``final: bag`` job live."""
    return Path(run_dir) / BAGGED_DIR / _safe(task) / str(int(fold)) / f"{_safe(candidate)}.npz"


def save_bagged(run_dir: str | Path, rec: Mapping[str, Any], payload: Mapping[str, np.ndarray]) -> Path:
    """Write a job's trial-by-trial test predictions ``{"numbers", "preds"}`` (float32) atomically."""
    return _save_arrays(bagged_path(run_dir, rec["task"], rec["candidate"], rec["fold"]), payload, np.float32)


def load_bagged(run_dir: str | Path, task: str, candidate: str, fold: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(numbers, preds)`` of a ``bag`` job's stored test predictions, or None when missing or unreadable."""
    return load_oof(bagged_path(run_dir, task, candidate, fold))


def expects_bagged(record: Mapping[str, Any]) -> bool:
    """Whether a record's job saved test predictions (a completed base job of a ``bag`` run)."""
    return record.get("type") == "job" and record.get("state") == "ok" and record.get("final") == "bag" and not record.get("post_hoc")


def lost_predictions(run_dir: str | Path, records: list[Mapping[str, Any]]) -> list[str]:
    """Keys of the latest ok ``bag`` records whose test predictions are no longer on disk.

    Such a job is not done: resume runs it again (its record stays; the new one wins).
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for r in records:
        if r.get("type") == "job":
            latest[r["key"]] = r
    return [k for k, r in latest.items() if expects_bagged(r) and not bagged_path(run_dir, r["task"], r["candidate"], r["fold"]).is_file()]


def load_oof(path: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(numbers, preds)`` from a saved file, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["numbers"], z["preds"]
    except (OSError, KeyError, ValueError):
        return None
