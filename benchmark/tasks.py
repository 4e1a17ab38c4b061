"""Turn a suite's task entry into a loaded :class:`benchmark.datasets.Task`."""

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


def load_task(cfg: TaskConfig, *, base_dir: str = ".", seed: int = 0):
    """Load the data a task entry names (registry dataset, file, or OpenML id)."""
    from benchmark import datasets

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
