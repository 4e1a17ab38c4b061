"""Building a :class:`~benchmark.data.task.Task` from a table: roles, encoding, subsampling.

:func:`task_from_table` is the one path every source takes (registry dataset, file, OpenML,
in-memory data through :func:`from_frame`): it checks the named columns, encodes the target and
the features, subsamples and hashes.

Conventions:

* Datetime *feature* columns are converted to float64 days since 1970-01-01 (NaT → NaN), with a
  logged note; timedelta feature columns become float64 seconds. Date-like *strings* in a CSV are
  left alone (they become categories): parse them yourself or name them in ``drop``/``time``.
* Classification classes are sorted; a ``positive`` class, when named, is put last so that it
  gets code 1 in a binary task.
* Every bad input raises :class:`~benchmark.errors.InputError` with one line naming the column
  and the fix.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.messages import input_error, preview
from benchmark.data.task import Task, task_hash
from benchmark.metrics import KINDS

logger = logging.getLogger(__name__)

MIN_ROWS = 10
MIN_CLASS_ROWS = 2
MAX_CLASSES_FOR_INT_TARGET = 20
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_NS_PER_DAY = 86_400 * 10**9


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
    origin = f"in-memory data '{name}'"
    y, groups, time = _aligned(X, y, groups, time, origin)
    features = _as_feature_frame(X, name)
    y_series = _as_series(y, "y", origin, len(features))
    table = features.copy()
    extras = {}
    for role, value in (("groups", groups), ("time", time)):
        if isinstance(value, str):
            if value not in features.columns:
                raise input_error(f"{role} column {value!r} not in X of {origin} (columns: {preview(features.columns)})")
            extras[role] = value
        elif value is not None:
            col = f"__{role}__"
            table[col] = _as_series(value, role, origin, len(features)).to_numpy()
            extras[role] = col
    target_col = "__target__"
    table[target_col] = y_series.to_numpy()
    return task_from_table(
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


def _aligned(X: Any, y: Any, groups: Any, time: Any, origin: str) -> tuple[Any, Any, Any]:
    """pandas ``y`` (and ``groups``/``time`` Series) matched to ``X`` by index label, never by position.

    Same labels in another order: reordered to ``X``'s order. Different labels: InputError
    (reset both indexes, or select the matching rows, to say what you mean).
    """
    if not isinstance(X, pd.DataFrame):
        return y, groups, time
    out = []
    for label, value in (("y", y), ("groups", groups), ("time", time)):
        if isinstance(value, (pd.Series, pd.DataFrame)) and not value.index.equals(X.index):
            same = X.index.is_unique and value.index.is_unique and len(value) == len(X) and set(value.index) == set(X.index)
            if not same:
                raise input_error(f"{label} of {origin} has an index that does not match X's ({len(value)} vs {len(X)} rows, labels differ); "
                                  f"align them (e.g. {label} = {label}.loc[X.index]) or call .reset_index(drop=True) on both")
            value = value.reindex(X.index)
            logger.info("%s: %s reordered to X's index", origin, label)
        out.append(value)
    return out[0], out[1], out[2]


def features_like(X: Any, columns: Sequence[str], name: str = "data") -> pd.DataFrame:
    """New rows encoded as a task's features were (numbers → float64, text → category), with the
    same columns in the same order; InputError naming what is missing."""
    frame = _as_feature_frame(X, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise input_error(f"new rows lack column(s) {preview(missing)} of the training data '{name}'")
    return _encode_features(frame[list(columns)], f"new rows for '{name}'", check_inf=False)


def task_from_table(
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
    """Validate roles, split the table into X/y/groups/time, encode, subsample and hash.

    ``origin`` names the data in error messages (a path, ``dataset 'iris'``); ``source`` is
    recorded on the Task; ``target_label`` replaces ``column 'target'`` in messages about y.
    """
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
    features = frame.drop(columns=list(removed))
    _refuse_label_copies(features, frame[target], y, kind=kind, label=label, origin=origin)
    X = _encode_features(features, origin)
    if X.shape[1] == 0:
        raise input_error(f"{origin}: no feature columns left after removing target/drop/groups/time columns")
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
    """Every named column exists, no name is used twice and no column plays two roles."""
    columns = [str(c) for c in frame.columns]
    dups = sorted({c for c in columns if columns.count(c) > 1}) if len(set(columns)) != len(columns) else []
    if dups:
        raise input_error(f"{origin}: duplicate column name{'s' if len(dups) > 1 else ''} {preview(dups, 5)}; "
                          f"a repeated target would become a feature: rename or remove the copies")
    if target not in frame.columns:
        raise input_error(f"target column {target!r} not in {origin}{_suggest(target, columns)} (columns: {preview(columns)})", field="target")
    for role, names in (("drop", list(drop)), ("groups", [groups] if groups else []), ("time", [time] if time else [])):
        for col in names:
            if col not in frame.columns:
                raise input_error(f"{role} column {col!r} not in {origin}{_suggest(col, columns)} (columns: {preview(columns)})", field=role)
            if col == target:
                raise input_error(f"{role} column {col!r} in {origin} is also the target; pick different columns", field=role)
    if groups and time and groups == time:
        raise input_error(f"column {groups!r} in {origin} is both groups and time; pick one")


def _refuse_label_copies(features: pd.DataFrame, raw_target: pd.Series, y: np.ndarray, *, kind: str, label: str, origin: str) -> None:
    """Refuse a feature that is the target under another name, whatever that name is.

    Classification: a column without missing values whose values map one-to-one onto the
    classes (a copy, or a relabelling such as yes/no for 1/0). Regression: a numeric column equal
    to the target up to an affine rescale (a copy, other units). Such a column scores perfectly
    and silently; a column the user really wants can be dropped (``drop``) instead.
    """
    n = len(raw_target)
    if kind == "regression":
        yc = y - y.mean()
        y_norm = float(np.sqrt(yc @ yc))
    else:
        n_classes = int(y.max()) + 1
    for col in features.columns:
        s = features[col]
        if len(s) != n or bool(s.isna().any()):
            continue
        if kind == "regression":
            if y_norm == 0 or not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
                continue
            v = s.to_numpy(dtype=float)
            if not np.all(np.isfinite(v)):
                continue
            vc = v - v.mean()
            v_norm = float(np.sqrt(vc @ vc))
            if v_norm == 0 or abs(float(vc @ yc)) / (v_norm * y_norm) < 1 - 1e-12:
                continue
            how = "equal to it" if np.array_equal(v, y) else "a rescaled copy of it"
        else:
            if int(s.nunique()) != n_classes:
                continue
            pairs = pd.DataFrame({"f": s.to_numpy(), "y": y}).drop_duplicates()
            if len(pairs) != n_classes:
                continue
            how = "a copy of it" if s.astype(str).equals(raw_target.astype(str)) else "a relabelled copy of it (one value per class)"
        raise input_error(
            f"feature column {str(col)!r} in {origin} is {how}: it would leak the {label} into the features; "
            f"add it to drop, or remove it from the data", field="drop",
        )


def _check_min_rows(n: int, origin: str) -> None:
    if n < MIN_ROWS:
        raise input_error(f"{origin} has only {n} rows; at least {MIN_ROWS} are needed for cross-validation")


def _encode_target(
    y: pd.Series, *, kind: str | None, label: str, origin: str, positive: Any = None
) -> tuple[str, np.ndarray, tuple | None]:
    """(kind, y array, classes): validate missing values, infer/check the kind, encode."""
    n_missing = int(y.isna().sum())
    if n_missing == len(y):
        raise input_error(f"{label} in {origin} has no values (all {n_missing} missing); pick another target", field="target")
    if n_missing:
        raise input_error(f"{label} has {n_missing} missing values in {origin}; drop those rows or pick another target", field="target")
    kind = _resolve_kind(y, kind, label, origin)
    if kind == "regression":
        return kind, _regression_target(y, label, origin), None
    codes, classes = _classification_target(y, label, origin, positive)
    if kind == "binary" and len(classes) != 2:
        raise input_error(f"{label} in {origin} has {len(classes)} classes but kind is 'binary'; use kind: multiclass", field="target")
    if kind == "multiclass" and len(classes) < 3:
        raise input_error(f"{label} in {origin} has 2 classes but kind is 'multiclass'; use kind: binary", field="target")
    return kind, codes, classes


def _resolve_kind(y: pd.Series, kind: str | None, label: str, origin: str) -> str:
    """Explicit kind wins ("classification" → binary/multiclass); otherwise infer from y."""
    if kind is not None:
        if kind == "classification":
            return "binary" if y.nunique() <= 2 else "multiclass"
        if kind not in KINDS:
            raise input_error(f"unknown kind {kind!r} for {origin}; use one of {', '.join(KINDS)} or classification")
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
        raise input_error(f"{label} in {origin} is not numeric (e.g. {example!r}); use kind: binary or multiclass, or another target", field="target")
    values = np.array(y.to_numpy(dtype=float), dtype=np.float64, copy=True)
    if not np.all(np.isfinite(values)):
        raise input_error(f"{label} in {origin} has {int((~np.isfinite(values)).sum())} infinite values; drop those rows", field="target")
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
        raise input_error(f"{label} in {origin} has a single class ({classes[0]!r}); a classifier needs at least 2", field="target")
    if positive is not None:
        if positive not in classes:
            raise input_error(f"positive class {positive!r} not among the classes of {label} in {origin} ({preview(classes)})", field="target")
        classes = [c for c in classes if c != positive] + [positive]
    lookup = {c: i for i, c in enumerate(classes)}
    codes = np.fromiter((lookup[_py(v)] for v in values.to_numpy(dtype=object)), dtype=np.int64, count=len(values))
    counts = np.bincount(codes, minlength=len(classes))
    rare = [classes[i] for i in np.flatnonzero(counts < MIN_CLASS_ROWS)]
    if rare:
        others = f" (and {len(rare) - 1} more rare classes)" if len(rare) > 1 else ""
        raise input_error(
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
        raise input_error(f"{role} column {name!r} has {n_missing} missing values in {origin}; fill them or drop those rows", field=role)
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    return np.array(col.to_numpy(), copy=True)


def _time_array(col: pd.Series, name: str, origin: str) -> np.ndarray:
    """Ordering key: numbers or datetimes as they are; text parsed as dates."""
    if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(col.dtype)):
        try:
            col = pd.to_datetime(col, format="mixed")
        except (ValueError, TypeError):
            raise input_error(f"time column {name!r} in {origin} is neither numeric nor dates; give a sortable column") from None
    if pd.api.types.is_bool_dtype(col.dtype):
        raise input_error(f"time column {name!r} in {origin} is boolean; give a numeric or date column")
    return _role_array(col, "time", name, origin)


def _encode_features(frame: pd.DataFrame, origin: str, *, check_inf: bool = True) -> pd.DataFrame:
    """Numbers → float64; bool/text/category → category (string categories); datetimes → days.

    Infinite values are refused (InputError naming the columns): they are neither a number a
    model can use nor a missing value, and every fit would fail on them. Replace them with NaN
    (missing) or drop those rows.
    """
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        out[str(col)] = _encode_feature(frame[col], str(col), origin)
    if len(out) != frame.shape[1]:
        raise input_error(f"{origin}: duplicate feature column names ({preview(frame.columns)}); rename them")
    if check_inf:
        bad = {c: int(np.isinf(s.to_numpy()).sum()) for c, s in out.items() if s.dtype == np.float64 and np.isinf(s.to_numpy()).any()}
        if bad:
            cols = ", ".join(f"{c!r} ({n})" for c, n in list(bad.items())[:5]) + (f", … ({len(bad) - 5} more)" if len(bad) > 5 else "")
            raise input_error(f"{origin}: infinite values (inf/-inf) in feature column(s) {cols}; "
                              "replace them with NaN to treat them as missing (X.replace([np.inf, -np.inf], np.nan)) or drop those rows")
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
        raise input_error(f"max_rows={max_rows!r} for {origin} must be an integer >= {MIN_ROWS}", field="max_rows")
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
        raise input_error(f"max_rows={total} for {origin} is too small for {len(counts)} classes; use at least {MIN_CLASS_ROWS * len(counts)}", field="max_rows")
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



def _as_feature_frame(X: Any, name: str) -> pd.DataFrame:
    """A DataFrame (string column names) from a DataFrame or a 2-D array-like."""
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            dup = frame.columns[frame.columns.duplicated()][0]
            raise input_error(f"X of in-memory data '{name}' has duplicate column {dup!r}; rename it")
        return frame
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise input_error(f"X of in-memory data '{name}' must be 2-D (rows x features), got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _as_series(values: Any, label: str, origin: str, n: int) -> pd.Series:
    """A 1-D Series of length ``n`` (index 0..n-1) from an array, Series or list."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise input_error(f"{label} of {origin} must be 1-D, got {values.shape[1]} columns")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        s = values.reset_index(drop=True)
    else:
        arr = np.asarray(values)
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise input_error(f"{label} of {origin} must be 1-D, got shape {arr.shape}")
        s = pd.Series(arr)
    if len(s) != n:
        raise input_error(f"{label} of {origin} has {len(s)} values but X has {n} rows")
    return s



def _suggest(name: str, columns: Sequence[str]) -> str:
    same_case = [c for c in columns if str(c).lower() == str(name).lower()]
    close = same_case or difflib.get_close_matches(str(name), list(columns), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""

