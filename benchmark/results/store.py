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
    .lock            the run's lock: flock'ed exclusively by its one writer, shared by readers
    records.corrupt  damaged lines ``--resume`` moved out of records.jsonl (only after damage)

A job's line is written in one ``write`` and flushed to disk before the job counts as done, so
a run killed at any moment loses at most the jobs in flight. A half-written last line, and a
damaged line anywhere (NUL bytes from a power loss, JSON that is not a record), is skipped by
every reader with one warning, and moved to ``records.corrupt`` by the next ``--resume`` before
anything is appended; its job runs again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import IncompatibleRunError, InputError, RunBusyError
from benchmark.results.records import latest_jobs
from benchmark.serialize import disk_error, jsonable, write_bytes_atomic, write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
#: Where ``bench run --resume`` moves damaged lines of ``records.jsonl`` (kept, never parsed).
CORRUPT = "records.corrupt"
#: The run's lock file: held exclusively by the one writer (``bench run``), shared by readers.
LOCK = ".lock"
#: Run directories (resolved) whose lock this process holds, so that a nested reader does not wait on itself.
_HELD: set[str] = set()
#: Record fields a job record cannot be used without.
_JOB_FIELDS = ("key", "task", "candidate", "fold")
#: (file, size, mtime) whose damaged lines were already reported in this process: one warning each.
_WARNED: set[tuple[str, int, int]] = set()
OOF_DIR = "oof"
BAGGED_DIR = "test"


def parse_record_line(raw: bytes) -> dict[str, Any] | None:
    """One line of ``records.jsonl`` as a record, or None when it is damaged: NUL bytes glued to
    its ends are cut off; invalid UTF-8 or JSON, a value that is not an object, or a job record
    without its key fields is damage."""
    text = raw.strip(b"\x00 \t\r\n")
    if not text:
        return None
    try:
        rec = json.loads(text.decode("utf-8"))
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None
    if not isinstance(rec, dict):
        return None
    if rec.get("type") == "job" and not (isinstance(rec.get("key"), str) and all(f in rec for f in _JOB_FIELDS)):
        return None
    return rec


def _flock(fd: int, *, exclusive: bool, root: Path) -> None:
    """Take an flock on ``fd`` without waiting; RunBusyError naming the holder when it is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, one writer is up to the user
        return
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        except OSError:
            owner = "another process"
        if not exclusive:
            raise RunBusyError(f"{root}: {owner} is writing to this run directory; wait until it ends, then try again") from None
        raise RunBusyError(f"{root}: another process is using this run directory (its writer: {owner}); one writer at a "
                           f"time, or records would mix: wait until it ends, or use another --out") from None


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
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.manifest_path}: corrupt JSON ({getattr(exc, 'msg', None) or exc.reason}); the run directory is damaged") from None
        except OSError as exc:
            raise InputError(f"{self.manifest_path}: cannot read ({exc.strerror}); check the file's permissions") from None
        if not isinstance(manifest, dict):
            raise InputError(f"{self.manifest_path}: holds a JSON {type(manifest).__name__}, not a run manifest (an object); "
                             f"the run directory is damaged: rerun into a new folder")
        return manifest

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

    # -- the lock -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, command: str = "bench run") -> Iterator[None]:
        """Hold the run directory's exclusive lock (creating the folder and ``.lock``) for the
        block; :class:`RunBusyError` at once when another process holds it. The lock is an
        ``flock`` on an open file: the kernel drops it when the process ends, however it ends
        (kill -9 included), so a stale lock never blocks a resume."""
        key = str(self.root.resolve())
        if key in _HELD:
            yield
            return
        path = self.root / LOCK
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise disk_error(exc, path) from None
        try:
            _flock(fd, exclusive=True, root=self.root)
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with contextlib.suppress(OSError):  # the owner's note is for messages only
                os.ftruncate(fd, 0)
                os.write(fd, f"{command} (pid {os.getpid()}, since {stamp} UTC)".encode())
            _HELD.add(key)
            yield
        finally:
            _HELD.discard(key)
            os.close(fd)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the run directory's lock shared for the block (readers wait for no one but a
        writer); :class:`RunBusyError` while a run writes. Never writes: a run without a lock file
        (an old run, a read-only archive nobody can write to) is read without one."""
        if str(self.root.resolve()) in _HELD:
            yield
            return
        try:
            fd = os.open(self.root / LOCK, os.O_RDONLY)
        except OSError:
            yield
            return
        try:
            _flock(fd, exclusive=False, root=self.root)
            yield
        finally:
            os.close(fd)

    # -- records ------------------------------------------------------------------------------
    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record in order.

        A torn last line (killed mid-write) is skipped. So is a damaged line anywhere (what a
        power loss or a disk fault leaves: NUL bytes, invalid UTF-8 or JSON, JSON that is not an
        object, a job record without its key fields); NUL bytes glued to either end of an
        otherwise whole line are cut off and the record is kept. The damaged lines are reported
        in one warning per file state and command (``bench run --resume`` moves them to
        ``records.corrupt``); the jobs they held count as not done, so a resume reruns them.
        """
        if not self.records_path.is_file():
            return
        bad: list[int] = []
        nul: list[int] = []
        torn = 0
        with self.records_path.open("rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.endswith(b"\n"):
                    torn = lineno if raw.strip(b"\x00 \t\r") else 0
                    break
                rec = parse_record_line(raw)
                if rec is None:
                    if raw.strip(b"\x00 \t\r\n"):
                        bad.append(lineno)
                    elif b"\x00" in raw:
                        nul.append(lineno)
                    continue
                if b"\x00" in raw:
                    nul.append(lineno)
                yield rec
        self._warn_once(bad, torn, nul)

    def _warn_once(self, bad: list[int], torn: int, nul: list[int]) -> None:
        if not bad and not torn and not nul:
            return
        try:
            st = self.records_path.stat()
            state = (str(self.records_path.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            state = (str(self.records_path), -1, -1)
        if state in _WARNED:
            return
        _WARNED.add(state)
        parts = []
        if bad:
            shown = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            parts.append(f"skipping {len(bad)} damaged line{'s' if len(bad) > 1 else ''} ({shown})")
        if nul:
            shown = ", ".join(map(str, nul[:5])) + (f" and {len(nul) - 5} more" if len(nul) > 5 else "")
            parts.append(f"cutting NUL bytes (what a power loss leaves; the records they overwrote are lost) from "
                         f"{len(nul)} line{'s' if len(nul) > 1 else ''} ({shown})")
        if torn:
            parts.append(f"dropping a half-written last record (line {torn})")
        log.warning("%s: %s; their jobs count as not done: `bench run --resume` reruns them and moves the damaged lines to %s",
                    self.records_path, "; ".join(parts), CORRUPT)

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
        """Make the records file whole before appending (the writer only, under its lock): cut a
        half-written last line, and move damaged lines (see :meth:`records`) to
        ``records.corrupt`` beside it, rewriting the file atomically. Return the bytes removed."""
        path = self.records_path
        if not path.is_file() or path.stat().st_size == 0:
            return 0
        data = path.read_bytes()
        lines = data.splitlines(keepends=True)
        keep: list[bytes] = []
        moved: list[bytes] = []
        for raw in lines:
            if not raw.endswith(b"\n"):
                if raw.strip(b"\x00 \t\r"):
                    moved.append(raw + b"\n")
                continue
            rec = parse_record_line(raw)
            if rec is None:
                if raw.strip(b"\x00 \t\r\n"):
                    moved.append(raw)
                continue
            keep.append(raw if b"\x00" not in raw else raw.strip(b"\x00 \t\r\n") + b"\n")
        new = b"".join(keep)
        if new == data:
            return 0
        if moved:
            with (self.root / CORRUPT).open("ab") as fh:
                fh.write(b"".join(moved))
                fh.flush()
                os.fsync(fh.fileno())
        write_bytes_atomic(path, new)
        log.warning("%s: moved %d damaged or half-written line(s) (%d bytes) to %s; their jobs run again",
                    path, len(moved), len(data) - len(new), CORRUPT)
        return len(data) - len(new)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as a single line and fsync it. When the disk refuses (full, read-only)
        the file is cut back to where it was, so no half line is left, and the error names it."""
        line = (json.dumps(jsonable(record), sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise disk_error(exc, self.records_path) from None
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise disk_error(exc, self.records_path) from None
        finally:
            os.close(fd)


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
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60].lstrip(".")  # no hidden folders ('..', '.x')
    return f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def oof_path(run_dir: str | Path, task: str, candidate: str, fold: int) -> Path:
    """Where the out-of-fold predictions of one base job live."""
    return Path(run_dir) / OOF_DIR / _safe(task) / str(int(fold)) / f"{_safe(candidate)}.npz"


def save_oof(run_dir: str | Path, rec: Mapping[str, Any], payload: Mapping[str, np.ndarray]) -> Path:
    """Write a job's ``{"numbers", "preds"}`` atomically (temp file, fsync, rename)."""
    return _save_arrays(oof_path(run_dir, rec["task"], rec["candidate"], rec["fold"]), payload, float)


def _save_arrays(path: Path, payload: Mapping[str, np.ndarray], dtype: Any) -> Path:
    """Write ``{"numbers", "preds"}`` atomically (:func:`~benchmark.serialize.write_bytes_atomic`);
    a disk error is one line and leaves no temporary file."""
    buf = io.BytesIO()
    np.savez(buf, numbers=np.asarray(payload["numbers"], dtype=np.int64), preds=np.asarray(payload["preds"], dtype=dtype))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(exc, path) from None
    return write_bytes_atomic(path, buf.getvalue())


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


def lost_bagged(run_dir: str | Path, records: list[Mapping[str, Any]]) -> list[str]:
    """Keys of the latest ok ``bag`` records whose test predictions are no longer on disk.

    Such a job is not done: resume runs it again (its record stays; the new one wins).
    """
    return [r["key"] for r in latest_jobs(records) if expects_bagged(r) and not bagged_path(run_dir, r["task"], r["candidate"], r["fold"]).is_file()]


def load_oof(path: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(numbers, preds)`` from a saved file, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["numbers"], z["preds"]
    except (OSError, KeyError, ValueError):
        return None
