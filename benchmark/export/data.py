"""``results.parquet`` and ``trials.parquet``: the run's two tables with their types kept.

The same rows as ``results.csv`` and ``trials.csv`` (both built by :mod:`benchmark.results.table`),
written with Parquet types: numbers stay numbers, names and states are categories (in the suite's
order), and configurations (``best_params``, ``params``) are JSON text columns, since every
candidate has its own parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.results.table import ResultTable, trials_frame

#: Columns stored as categories (a small set of repeated values).
CATEGORICAL = ("task", "candidate", "state", "metric", "base", "host")


def _typed(frame: pd.DataFrame, order: dict[str, list[str]]) -> pd.DataFrame:
    out = frame.copy()
    for col in CATEGORICAL:
        if col in out.columns:
            values = out[col].dropna().astype(str)
            cats = [c for c in order.get(col, []) if c in set(values)]
            cats += sorted(set(values) - set(cats))
            out[col] = pd.Categorical(out[col].where(out[col].isna(), out[col].astype(str)), categories=cats)
    for col in out.columns:
        if out[col].dtype == object and col not in CATEGORICAL:
            non_null = out[col].dropna()
            if len(non_null) and non_null.map(lambda v: isinstance(v, bool)).all():
                out[col] = out[col].astype("boolean")
            elif len(non_null):  # text, or a mix that Parquet cannot type: JSON text
                out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) or v != v else json.dumps(v, default=str)).astype("string")
    return out


def write_parquet(table: ResultTable, records: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write ``results.parquet`` (one row per job) and ``trials.parquet`` (one row per trial)."""
    order = {"task": list(table.tasks), "candidate": list(table.candidates)}
    written = []
    for name, frame in (("results.parquet", table.df), ("trials.parquet", trials_frame(records))):
        path = out / name
        tmp = path.with_name(path.name + ".tmp")
        _typed(frame, order).to_parquet(tmp, index=False, engine="pyarrow")
        tmp.replace(path)
        written.append(path)
    return written
