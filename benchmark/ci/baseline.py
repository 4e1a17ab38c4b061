"""The baseline file: a :class:`~benchmark.ci.snapshot.Snapshot` as compact JSON.

``{"format": "bench-baseline", "version": 1, "meta": {...}, "tasks": {...}, "rows": [...]}``, a
readable header and one row per line (small and diff-friendly).  :func:`write_baseline` writes
it atomically, :func:`read_baseline` reads and validates it (:func:`snapshot_from_dict` checks a
parsed object: anything unusable is an :class:`~benchmark.errors.InputError` naming the file),
and :func:`load_snapshot` takes either a baseline file or a run directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark.ci.snapshot import FORMAT, FORMAT_VERSION, Snapshot, snapshot_from_run
from benchmark.errors import InputError
from benchmark.serialize import write_text_atomic


def dumps_baseline(snap: Snapshot) -> str:
    """JSON text of a baseline: readable header, one row per line (small, diff-friendly)."""
    d = snap.to_dict()
    rows = d.pop("rows")
    head = json.dumps(d, indent=1, sort_keys=True, allow_nan=False)
    body = ",\n".join("  " + json.dumps(r, sort_keys=True, allow_nan=False) for r in rows)
    return head[: -len("\n}")] + ',\n "rows": [\n' + body + "\n ]\n}\n"


def write_baseline(snap: Snapshot, path: str | Path) -> Path:
    """Write ``snap`` as a baseline JSON file (atomically); returns the path."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"--out {path}: is a folder; give a file name such as {p / 'baseline.json'}")
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(p, dumps_baseline(snap))


def snapshot_from_dict(data: Any, *, where: str) -> Snapshot:
    """Validate a parsed baseline object; ``where`` names it in errors."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise InputError(f"{where}: not a bench baseline (no \"format\": \"{FORMAT}\"); create one with `bench baseline RUN_DIR --out FILE`")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise InputError(f"{where}: baseline format version {version!r} is not supported (this bench reads version {FORMAT_VERSION}); recreate it with `bench baseline`")
    for key, kind in (("meta", Mapping), ("tasks", Mapping), ("rows", list)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"{where}: field '{key}' is missing or malformed; recreate the baseline with `bench baseline`")
    rows = []
    for i, r in enumerate(data["rows"]):
        if not isinstance(r, Mapping) or not {"task", "candidate", "fold", "state"} <= set(r) or not isinstance(r.get("scores", {}), Mapping):
            raise InputError(f"{where}: rows[{i}] lacks task/candidate/fold/state; recreate the baseline with `bench baseline`")
        rows.append(dict(r) | {"fold": int(r["fold"]), "scores": dict(r.get("scores") or {})})
    return Snapshot(where, dict(data["meta"]), {k: dict(v) for k, v in data["tasks"].items()}, tuple(rows))


def read_baseline(path: str | Path) -> Snapshot:
    """Read a baseline JSON file; :class:`InputError` naming the file for anything unusable."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: baseline file not found; create it with `bench baseline RUN_DIR --out {path}`")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); recreate it with `bench baseline RUN_DIR --out {path}`") from None
    return snapshot_from_dict(data, where=str(path))


def load_snapshot(source: str | Path) -> Snapshot:
    """A run directory or a baseline JSON file → :class:`Snapshot`."""
    p = Path(source)
    if p.is_dir():
        return snapshot_from_run(p)
    if not p.exists():
        raise InputError(f"{source}: no such file or directory; give a baseline JSON file or a run directory")
    return read_baseline(p)
