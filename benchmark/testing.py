"""Test helpers shipped with the package: tiny generated tasks, and a faulty estimator.

:class:`FaultyEstimator` raises, sleeps, hangs or kills its process on request. This module is a
candidate plugin: with ``BENCHMARK_PLUGINS=benchmark.testing`` in the environment (the test suite
sets it in ``tests/conftest.py``) the registry gains the base ``fault`` (a test double, left out
of ``bench list candidates``), so a suite can say
``{name: crashy, base: fault, params: {mode: segfault}}``. Production code never imports it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def make_frame(n: int = 240, seed: int = 0, *, missing: bool = True) -> pd.DataFrame:
    """``n`` rows of six numeric features and one categorical (one level holds HTML), with ~5% missing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    X["color"] = pd.Categorical(rng.choice(["red", "green", "blue", "<b>odd</b>"], size=n))
    if missing:
        X.loc[rng.random(n) < 0.05, "x0"] = np.nan
        X.loc[rng.random(n) < 0.05, "color"] = np.nan
    return X


def random_labels(n: int = 300, seed: int = 0, *, kind: str = "binary") -> tuple[pd.DataFrame, np.ndarray]:
    """Features with labels drawn independently of them: any honest estimate is at chance level."""
    X = make_frame(n, seed)
    rng = np.random.default_rng(seed + 1)
    if kind == "regression":
        return X, rng.normal(size=n)
    k = 2 if kind == "binary" else 3
    return X, rng.integers(0, k, n)


# ---------------------------------------------------------------------------------------------
# A faulty estimator, to test time limits, crash isolation and retries.

FAULT_MODES = ("ok", "raise", "sleep", "hang", "exit", "kill", "segfault")


class FaultyEstimator:
    """A scikit-learn compatible estimator that misbehaves in ``fit`` on request.

    ``mode``: ``ok`` (fits at once), ``raise`` (a ``RuntimeError`` from the model), ``sleep``
    (a Python-level wait of ``seconds``, in short steps, then fits: stoppable by the soft time
    limit), ``hang`` (``seconds`` inside one blocking C call — libc ``sleep`` through ctypes — that
    Python's asynchronous exceptions cannot interrupt: only the hard limit stops it), ``exit``
    (``os._exit(13)``), ``kill`` (SIGKILL to its own process), ``segfault`` (reads address 0).

    Which fits misbehave: all of them, unless ``once`` names a marker file — then only the first
    fit that finds the file absent (it creates it, atomically, across processes), so a retried
    job succeeds — and only fits on ``min_rows`` to ``max_rows`` training rows (e.g. ``min_rows``
    above the inner-fold size: only the final refit; ``max_rows`` below it: only small
    learning-curve refits).

    Predictions carry no signal: class frequencies (classification) or the mean (regression).
    ``kind``: ``classification`` or ``regression`` (the registry's factory sets it).
    """

    def __init__(self, mode: str = "ok", seconds: float = 30.0, once: str | None = None,
                 min_rows: int = 0, max_rows: int | None = None, kind: str = "classification") -> None:
        self.mode = mode
        self.seconds = seconds
        self.once = once
        self.min_rows = min_rows
        self.max_rows = max_rows
        self.kind = kind

    # scikit-learn protocol (clone, get_params/set_params) without inheriting its machinery
    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("mode", "seconds", "once", "min_rows", "max_rows", "kind")}

    def set_params(self, **params: object) -> FaultyEstimator:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    @property
    def _estimator_type(self) -> str:
        return "regressor" if self.kind == "regression" else "classifier"

    def _should_fault(self, X: pd.DataFrame) -> bool:
        if len(X) < self.min_rows or (self.max_rows is not None and len(X) > self.max_rows):
            return False
        if self.once is not None:
            import os

            try:
                os.close(os.open(self.once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return False
        return True

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> FaultyEstimator:
        """Misbehave as ``mode`` says (when the triggers allow), then learn the class frequencies or mean."""
        if self.mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}, got {self.mode!r}")
        if self.mode != "ok" and self._should_fault(X):
            _fault(self.mode, float(self.seconds))
        y = np.asarray(y)
        if self.kind == "regression":
            self.mean_ = float(np.mean(y))
        else:
            self.classes_, counts = np.unique(y, return_counts=True)
            self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.kind == "regression":
            return np.full(len(X), self.mean_)
        return np.full(len(X), self.classes_[int(np.argmax(self.prior_))])


def _fault(mode: str, seconds: float) -> None:
    import ctypes
    import os
    import signal
    import time

    if mode == "raise":
        raise RuntimeError("FaultyEstimator: asked to raise")
    if mode == "sleep":
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))
    elif mode == "hang":
        ctypes.CDLL(None).sleep(ctypes.c_uint(max(1, int(math.ceil(seconds)))))
    elif mode == "exit":
        os._exit(13)
    elif mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "segfault":
        ctypes.string_at(0)


def _make_fault(schema, params: dict, *, seed: int, n_threads: int = 1) -> FaultyEstimator:
    return FaultyEstimator(kind="regression" if schema.kind == "regression" else "classification", **params)


def _fault_specs() -> list:
    from benchmark.candidates.base import CandidateSpec

    return [CandidateSpec(
        name="fault", family="test double", factory=_make_fault, spaces={"classification": {}, "regression": {}},  # a suite may add a space
        description="test double: an estimator that raises, sleeps, hangs or kills its process on request (mode=...)",
    )]


def __getattr__(name: str):  # the registry reads SPECS; built on first use so importing this module stays light
    if name == "SPECS":
        return _fault_specs()
    raise AttributeError(name)
