"""FoldPlan: outer and inner splits, made once per (task, seed) and shared by every candidate.

Because every candidate is evaluated on exactly the same outer test folds, and tuned on exactly
the same inner folds, all comparisons are paired. The plan's hash goes into every record.

Strategies:

- ``stratified`` (classification) / ``kfold`` (regression): shuffled k-fold, optionally repeated.
- ``group``: no group is split across train and test (the task names a ``groups`` column).
- ``time``: ordered, expanding-window folds; the test block always comes after its training rows
  (the task names a ``time`` column). Repeats are refused: reshuffling time would leak.

Inner splits are indices *into the outer training rows* (positions ``0..len(train)-1``).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
    TimeSeriesSplit,
)

from benchmark.errors import InputError

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class Fold:
    """One outer fold: absolute ``train``/``test`` row indices and its inner ``(fit, valid)`` splits."""

    index: int
    repeat: int
    train: np.ndarray
    test: np.ndarray
    inner: tuple[Split, ...]


@dataclass(frozen=True, eq=False)
class FoldPlan:
    """All outer folds of a task for one seed, with the strategy used and a content hash."""

    strategy: str
    folds: tuple[Fold, ...]
    hash: str

    def __len__(self) -> int:
        return len(self.folds)


def make_plan(
    y: np.ndarray,
    *,
    classification: bool,
    folds: int = 5,
    repeats: int = 1,
    inner: int | float = 3,
    seed: int = 0,
    groups: np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> FoldPlan:
    """Instantiate the outer and inner splits for one task.

    ``inner`` is a number of inner folds (int ≥ 2) or a holdout fraction (0 < float < 1).
    Returns a FoldPlan with ``folds * repeats`` outer folds.
    """
    _check_counts(folds=folds, repeats=repeats, inner=inner)
    strategy = "time" if time is not None else "group" if groups is not None else "stratified" if classification else "kfold"
    if strategy == "time" and repeats != 1:
        raise InputError("repeats must be 1 for a task with a time column (reshuffling time leaks the future)")
    n = len(y)
    order = np.arange(n)
    out: list[Fold] = []
    for r in range(repeats):
        rs = _child_seed(seed, r)
        outer_splits = _split_or_refuse(lambda rs=rs: list(_outer(strategy, classification, y, groups, time, folds, rs, n)), "outer", folds)
        for k, (train, test) in enumerate(outer_splits):
            idx = r * folds + k
            inner_splits = _split_or_refuse(lambda train=train, idx=idx: _inner(
                strategy,
                classification,
                y[train],
                None if groups is None else groups[train],
                None if time is None else time[train],
                inner,
                _child_seed(seed, 1000 + idx),
            ), "inner", inner)
            out.append(Fold(idx, r, order[train], order[test], tuple(inner_splits)))
    return FoldPlan(strategy, tuple(out), _hash(strategy, out))


def _split_or_refuse(make, level: str, setting: int | float) -> list[Split]:
    """``make()``'s splits; a split scikit-learn cannot make (too few rows or too small classes
    for the folds, a holdout fraction that leaves an empty side) becomes one InputError line, and
    so does a split with an empty side."""
    try:
        splits = make()
    except InputError:
        raise
    except ValueError as exc:
        what = "folds" if level == "outer" else "inner"
        fix = "fewer folds" if level == "outer" else "a holdout fraction like 0.2 or fewer inner folds"
        raise InputError(f"cannot make the {level} splits ({what}: {setting}): {str(exc).splitlines()[0].rstrip('. ')}; "
                         f"use {fix}, or merge rare classes") from None
    for a, b in splits:
        if len(a) == 0 or len(b) == 0:
            raise InputError(f"the {level} split ({setting}) leaves no rows on one side; use a holdout fraction like 0.2 or fewer folds")
    return splits


def _check_counts(*, folds: int, repeats: int, inner: int | float) -> None:
    if not isinstance(folds, int) or folds < 2:
        raise InputError(f"folds must be an integer ≥ 2 (got {folds!r})")
    if not isinstance(repeats, int) or repeats < 1:
        raise InputError(f"repeats must be an integer ≥ 1 (got {repeats!r})")
    if isinstance(inner, bool) or not isinstance(inner, (int, float)):
        raise InputError(f"inner must be a number of folds (≥ 2) or a holdout fraction in (0, 1) (got {inner!r})")
    if isinstance(inner, float) and not 0 < inner < 1:
        raise InputError(f"a holdout fraction must be in (0, 1) (got {inner})")
    if isinstance(inner, int) and inner < 2:
        raise InputError(f"inner folds must be ≥ 2, or a holdout fraction like 0.2 (got {inner})")


def _child_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


def _outer(strategy: str, classification: bool, y, groups, time, folds: int, rs: int, n: int):
    X = np.zeros((n, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" warnings
        if strategy == "time":
            order = np.argsort(time, kind="stable")
            for tr, te in TimeSeriesSplit(n_splits=folds).split(X):
                yield np.sort(order[tr]), np.sort(order[te])
            return
        if strategy == "group":
            _check_groups(groups, folds, "outer")
            if classification:
                cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=rs)
                yield from cv.split(X, y, groups)
            else:
                yield from GroupKFold(n_splits=folds, shuffle=True, random_state=rs).split(X, y, groups)
            return
        if strategy == "stratified":
            _check_classes(y, folds, "outer folds")
            yield from StratifiedKFold(n_splits=folds, shuffle=True, random_state=rs).split(X, y)
            return
        yield from KFold(n_splits=folds, shuffle=True, random_state=rs).split(X)


def _inner(strategy: str, classification: bool, y, groups, time, inner: int | float, rs: int) -> list[Split]:
    n = len(y)
    X = np.zeros((n, 1))
    holdout = isinstance(inner, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if strategy == "time":
            order = np.argsort(time, kind="stable")
            if holdout:
                cut = int(round(n * (1 - inner)))
                return [(np.sort(order[:cut]), np.sort(order[cut:]))]
            return [(np.sort(order[a]), np.sort(order[b])) for a, b in TimeSeriesSplit(n_splits=inner).split(X)]
        if strategy == "group":
            if holdout:
                return list(GroupShuffleSplit(n_splits=1, test_size=inner, random_state=rs).split(X, y, groups))
            _check_groups(groups, inner, "inner")
            if classification:
                return list(StratifiedGroupKFold(n_splits=inner, shuffle=True, random_state=rs).split(X, y, groups))
            return list(GroupKFold(n_splits=inner, shuffle=True, random_state=rs).split(X, y, groups))
        if strategy == "stratified":
            if holdout:
                return list(StratifiedShuffleSplit(n_splits=1, test_size=inner, random_state=rs).split(X, y))
            _check_classes(y, inner, "inner folds")
            return list(StratifiedKFold(n_splits=inner, shuffle=True, random_state=rs).split(X, y))
        if holdout:
            return list(ShuffleSplit(n_splits=1, test_size=inner, random_state=rs).split(X))
        return list(KFold(n_splits=inner, shuffle=True, random_state=rs).split(X))


def _check_groups(groups: np.ndarray, k: int, level: str) -> None:
    n_groups = len(np.unique(groups))
    if n_groups < k:
        raise InputError(f"only {n_groups} distinct groups for {k} {level} folds; lower folds/inner or use more groups")


def _check_classes(y: np.ndarray, k: int, level: str) -> None:
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    counts = counts[counts > 0]
    if counts.min() < k:
        raise InputError(
            f"the smallest class has {counts.min()} rows, fewer than the {k} {level}; lower {'inner' if 'inner' in level else 'folds'} or merge rare classes"
        )


def _hash(strategy: str, folds: list[Fold]) -> str:
    h = hashlib.sha256(strategy.encode())
    for f in folds:
        for arr in (f.train, f.test, *[a for pair in f.inner for a in pair]):
            h.update(np.asarray(arr, dtype=np.int64).tobytes())
            h.update(b"|")
    return h.hexdigest()
