"""Test helpers shipped with the package: tiny generated tasks for tests and examples."""

from __future__ import annotations

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
