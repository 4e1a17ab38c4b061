"""What produced a run: library versions, machine, git commit, command line."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

KEY_LIBRARIES = (
    "benchmark", "numpy", "pandas", "scipy", "scikit-learn", "optuna", "xgboost", "lightgbm", "catboost", "torch",
)


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the libraries whose change can change results, plus ``extra`` ones
    (read from package metadata, no imports)."""
    out = {"python": platform.python_version()}
    for name in (*KEY_LIBRARIES, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> dict[str, Any]:
    import psutil

    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
    }


def git_commit(path: str = ".") -> str | None:
    """The commit of the repository at ``path`` (with ``+dirty`` if it has changes), or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path, capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def command_line() -> str:
    return " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])
