"""A suite's task entry (:class:`benchmark.data.task.TaskConfig`) → a loaded :class:`~benchmark.data.task.Task`.

Also the path policy for file tasks: where a relative path is looked up, and which paths
``bench run`` refuses. The loaders themselves are imported on first use, so the CLI can check
paths without importing pandas.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import InputError

if TYPE_CHECKING:
    from benchmark.data.task import Task, TaskConfig


#: Longest file-name component and path the file systems we run on accept (Linux: NAME_MAX, PATH_MAX).
NAME_MAX, PATH_MAX = 255, 4096


def check_path_text(path: str) -> None:
    """Refuse a path no file system can open (a NUL byte, a component over 255 bytes, over 4096
    bytes in all) before it reaches the OS, which would raise a traceback-worthy error."""
    if "\0" in path:
        raise InputError(f"{path.replace(chr(0), '<NUL>')[:120]!r} holds a NUL byte, which no file name can; fix the path", where="path")
    encoded = path.encode("utf-8", "surrogateescape")
    long = next((c for c in encoded.split(b"/") if len(c) > NAME_MAX), None)
    if long is not None:
        raise InputError(f"a component of the path is {len(long)} bytes long ({long[:40].decode('utf-8', 'replace')}...), "
                         f"over the limit of {NAME_MAX}; fix the path", where="path")
    if len(encoded) > PATH_MAX:
        raise InputError(f"the path is {len(encoded)} bytes long, over the limit of {PATH_MAX}; fix the path", where="path")


def resolve_path(path: str, base_dir: str) -> Path:
    """A task path as written, relative to the current directory, else to the suite's folder."""
    check_path_text(path)
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    alt = Path(base_dir) / p
    return alt if alt.exists() else p


def check_inside(path: str, base_dir: str, *, allow_outside: bool = False) -> None:
    """Refuse a relative data path that leads out of the project (policy of ``bench run``).

    A path written relative (``data/x.csv``, ``../data/x.csv``) must, after ``..`` and symlinks
    are resolved, lie inside the current folder or the suite's folder: a suite someone hands you
    cannot quietly read ``../../home/you/secrets.csv`` and show its columns in a report.
    Absolute paths (and ``~``) are taken as written: you typed where the data is.
    ``allow_outside`` (``bench run --allow-outside``) lifts the rule. Raises InputError (field ``path``).
    """
    check_path_text(path)
    if allow_outside or Path(path).expanduser().is_absolute():
        return
    target = resolve_path(path, base_dir).resolve()
    roots = (Path.cwd().resolve(), Path(base_dir).resolve())
    if not any(target == r or target.is_relative_to(r) for r in roots):
        raise InputError(
            f"{path!r} resolves to {target}, outside the current folder and the suite's folder; "
            "move the data into the project, write an absolute path, or pass --allow-outside",
            where="path",
        )


def load_task(cfg: TaskConfig, *, base_dir: str = ".", seed: int = 0) -> Task:
    """Load the data a task entry names (registry dataset, file, or OpenML id)."""
    from benchmark.data import loaders

    if cfg.dataset is not None:
        task = loaders.load_dataset(cfg.dataset, max_rows=cfg.max_rows, seed=seed)
        return task if cfg.name == task.name else replace(task, name=cfg.name)
    if cfg.path is not None:
        return loaders.load_file(
            resolve_path(cfg.path, base_dir),
            target=cfg.target,
            name=cfg.name,
            drop=cfg.drop,
            groups=cfg.groups,
            time=cfg.time,
            kind=cfg.kind,
            max_rows=cfg.max_rows,
            seed=seed,
        )
    if cfg.openml is not None:
        return loaders.load_openml(cfg.openml, target=cfg.target, name=cfg.name, max_rows=cfg.max_rows, seed=seed)
    raise InputError("give exactly one of 'dataset', 'path' or 'openml'")
