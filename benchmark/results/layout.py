"""Where run directories live and how they are named (plain Python, no numerical import).

``bench run`` without ``--out`` writes ``reports/<suite name>-<YYYYmmdd-HHMMSS>``; ``--resume``
without ``--out`` continues the latest of them (:func:`latest_run`: by name, among the folders
that hold a manifest). The driver and the re-run shortcut (:mod:`benchmark.results.finished`)
both ask here.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

#: The default parent of run directories (relative to the current folder).
RUNS_ROOT = Path("reports")
#: The file whose presence makes a folder a run directory (``store.MANIFEST``).
_MANIFEST = "manifest.json"


def folder_name(name: str) -> str:
    """A suite name as the start of a folder name: safe characters only, no leading dot (no
    hidden ``..`` folders), at most 100 characters (file names have a 255-byte limit)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".-")[:100] or "suite"


def new_run_dir(suite_name: str, root: Path = RUNS_ROOT) -> Path:
    return root / f"{folder_name(suite_name)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def latest_run(prefix: str, root: Path = RUNS_ROOT) -> Path | None:
    """The latest run directory ``root/<prefix>-*``, or None (``prefix``: a :func:`folder_name`)."""
    runs = sorted(p for p in Path(root).glob(f"{prefix}-*") if (p / _MANIFEST).is_file())
    return runs[-1] if runs else None
