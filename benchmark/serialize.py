"""Writing results safely: JSON-safe values and files replaced atomically."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def jsonable(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python, tuples → lists, other objects → str."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (ValueError, AttributeError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell made inert for spreadsheets: ``'`` is put before text that starts with one of
    :data:`FORMULA_START` (or with quotes followed by one, so that :func:`csv_uncell` is exact).
    Numbers and other values pass unchanged."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def csv_uncell(value: Any) -> Any:
    """The inverse of :func:`csv_cell`, for reading a CSV this toolkit wrote."""
    if isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(FORMULA_START):
        return value[1:]
    return value


def csv_text(frame: Any) -> str:
    """A DataFrame as CSV text (no index) with every text cell and column name passed through
    :func:`csv_cell`: the one way this toolkit writes CSV."""
    safe = frame.copy()
    for col in safe.select_dtypes(exclude=["number", "bool", "datetime", "timedelta"]).columns:
        safe[col] = safe[col].map(csv_cell)
    safe.columns = [csv_cell(str(c)) for c in safe.columns]
    return safe.to_csv(index=False)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a hidden temporary file beside ``path``, then rename it over ``path``.

    A reader never sees a half-written file, and a crash leaves the old file in place.
    """
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file beside ``path`` (flushed to disk), then rename it
    over ``path``. When writing fails (a full disk, a read-only folder) the temporary file is
    removed, ``path`` keeps its old content and the error names ``path`` (:func:`disk_error`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: two writers never share one
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise disk_error(exc, path) from None
    return path


def discard(path: str | Path) -> None:
    """Remove a temporary file if it is there (cleanup after a failed write; never raises)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def disk_error(exc: OSError, path: str | Path) -> Exception:
    """A failed write as one line naming the file and the fix (an InputError, exit 2), for the
    faults a user can fix: a full disk, a read-only folder, no permission, a name too long.
    Other OS errors are returned unchanged."""
    import errno

    from benchmark.errors import InputError

    fixes = {
        errno.ENOSPC: "the disk is full; free some space and rerun (with --resume for a run)",
        errno.EDQUOT: "the disk quota is exceeded; free some space and rerun (with --resume for a run)",
        errno.EROFS: "the file system is read-only; write somewhere else (--out)",
        errno.EACCES: "permission denied; write somewhere you may write (--out)",
        errno.EPERM: "permission denied; write somewhere you may write (--out)",
        errno.ENAMETOOLONG: "the file name is too long; choose a shorter name or --out",
    }
    fix = fixes.get(exc.errno or 0)
    if fix is None:
        return exc
    return InputError(f"cannot write {path}: {fix}")
