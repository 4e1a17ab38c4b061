"""CSV that a spreadsheet opens as data: text cells that would start a formula are neutralised.

A task or candidate name such as ``=HYPERLINK(...)`` is user text; Excel, LibreOffice and Google
Sheets run a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula (OWASP "CSV injection").  Such a text cell gets a leading ``'``; numbers are left alone.
(The hostile-input issue adds a shared CSV writer; when it lands, this module is the one place
to point at it.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.serialize import write_text_atomic

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value`` with a ``'`` in front when it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (object, string and category columns) are neutralised."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as a neutralised CSV (atomic replace); returns the path."""
    return write_text_atomic(path, safe_frame(frame).to_csv(index=False))
