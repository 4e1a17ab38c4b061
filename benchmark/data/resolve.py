"""Turn a suite's task entry into a loaded :class:`benchmark.data.datasets.Task`."""

from __future__ import annotations

from pathlib import Path

from benchmark.config import TaskConfig
from benchmark.errors import InputError


def resolve_path(path: str, base_dir: str) -> Path:
    """A task path as written, relative to the current directory, else to the suite's folder."""
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


def load_task(cfg: TaskConfig, *, base_dir: str = ".", seed: int = 0):
    """Load the data a task entry names (registry dataset, file, or OpenML id)."""
    from benchmark.data import datasets

    if cfg.dataset is not None:
        task = datasets.load_dataset(cfg.dataset, max_rows=cfg.max_rows, seed=seed)
        if cfg.name != task.name:
            task = _renamed(task, cfg.name)
        return task
    if cfg.path is not None:
        return datasets.load_file(
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
        return datasets.load_openml(cfg.openml, target=cfg.target, name=cfg.name, max_rows=cfg.max_rows, seed=seed)
    raise InputError("give exactly one of 'dataset', 'path' or 'openml'")


def _renamed(task, name: str):
    from dataclasses import replace

    return replace(task, name=name)
