"""The :class:`Task`: one supervised learning problem, and its content hash.

A Task holds the features ``X`` (numeric columns as float64, text/bool columns as pandas
``category`` with string categories), the target ``y`` (int64 codes 0..k-1 for classification,
float64 for regression), optional ``groups``/``time`` arrays for grouped or time-ordered CV, and a
content hash (``data_hash``, :func:`task_hash`) that is identical across processes.

A suite names a task with a :class:`TaskConfig` (where its data comes from), which
:mod:`benchmark.data.resolve` turns into a Task. Tasks are built by :mod:`benchmark.data.build` (a table or in-memory arrays) and
:mod:`benchmark.data.loaders` (registry datasets, files, OpenML).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TaskConfig:
    """Where a task's data comes from: exactly one of ``dataset``, ``path`` or ``openml``."""

    name: str
    dataset: str | None = None
    path: str | None = None
    openml: int | None = None
    target: str | None = None
    drop: tuple[str, ...] = ()
    groups: str | None = None
    time: str | None = None
    kind: str | None = None
    max_rows: int | None = None


@dataclass(frozen=True, eq=False)
class Task:
    """One supervised learning problem, ready for splitting and fitting.

    ``X``: (n_rows, n_features) DataFrame with a 0..n-1 index; ``y``: (n_rows,) int64 codes
    (classification) or float64 (regression); ``groups``/``time``: (n_rows,) arrays or None.
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    kind: str
    classes: tuple | None
    groups: np.ndarray | None
    time: np.ndarray | None
    source: str
    data_hash: str
    description: str = ""

    @property
    def n_rows(self) -> int:
        """Number of rows (samples)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def categorical_columns(self) -> list[str]:
        """Names of the ``category`` columns, in column order."""
        return [c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def numeric_columns(self) -> list[str]:
        """Names of the numeric columns, in column order."""
        return [c for c in self.X.columns if not isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.kind != "regression"

    def __repr__(self) -> str:
        return (
            f"Task(name={self.name!r}, kind={self.kind!r}, n_rows={self.n_rows}, "
            f"n_features={self.n_features}, source={self.source!r}, data_hash={self.data_hash[:12]!r})"
        )


def task_hash(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    kind: str,
    classes: tuple | None,
    groups: np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> str:
    """sha256 hex digest of the content: column names, dtypes and values of X; y; kind and
    classes; groups; time. Stable across processes (no Python ``hash()``)."""
    digest = hashlib.sha256()
    digest.update(f"kind={kind};classes={classes!r};shape={X.shape}".encode())
    for col in X.columns:
        digest.update(f"|col={col!r}:{X[col].dtype}|".encode())
        digest.update(_series_bytes(X[col]))
    digest.update(f"|y:{y.dtype}|".encode())
    digest.update(np.ascontiguousarray(y).tobytes())
    for label, arr in (("groups", groups), ("time", time)):
        digest.update(f"|{label}:{None if arr is None else arr.dtype}|".encode())
        if arr is not None:
            digest.update(_series_bytes(pd.Series(arr)))
    return digest.hexdigest()


def _series_bytes(s: pd.Series) -> bytes:
    """Stable bytes for a column's values (pandas' fixed-key hashing, index ignored)."""
    if s.dtype == object:
        s = s.map(lambda v: v if v is None or isinstance(v, str) else f"{type(v).__name__}:{v!r}")
    return pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes()

