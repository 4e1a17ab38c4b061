"""The run directory: a manifest plus an append-only record of completed jobs.

Layout of a run directory::

    manifest.json    suite as run, seed, data and split hashes, library versions, machine, commit
    records.jsonl    one JSON line per completed job (with its tuning trials), appended and fsynced
    results.csv      tidy export: one row per task × candidate × outer fold (rebuilt from records)
    trials.csv       one row per tuning trial (rebuilt from records)
    report.html      the report (rebuilt from records by ``bench report``)

A job's line is written in one ``write`` and flushed to disk before the job counts as done, so
a run killed at any moment loses at most the jobs in flight. A half-written last line is
detected on open and cut off before anything is appended.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.errors import IncompatibleRunError, InputError
from benchmark.serialize import jsonable, write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"


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
        diffs.extend(_suite_diffs(old.get("suite", {}), new.get("suite", {})) or ["the suite changed"])
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


def _suite_diffs(a: dict[str, Any], b: dict[str, Any], prefix: str = "suite") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{prefix}.{key}: {json.dumps(jsonable(a.get(key)))[:80]} → {json.dumps(jsonable(b.get(key)))[:80]}")
    return out


def require_compatible(old: dict[str, Any], new: dict[str, Any], *, force: bool, where: str) -> None:
    diffs = check_compatible(old, new)
    if diffs and not force:
        raise IncompatibleRunError(f"{where}: cannot resume, results would mix: " + "; ".join(diffs) + " (start a new run, or pass --force)")
    if diffs:
        log.warning("resuming despite differences (--force): %s", "; ".join(diffs))
