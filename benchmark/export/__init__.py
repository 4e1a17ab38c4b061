"""Results where users keep them: paper tables (LaTeX, CSV), figures (SVG, PDF), Parquet, MLflow.

Everything here reads a finished (or partial) run directory through ``results/`` and the report's
analysis, and writes files or MLflow runs; nothing is refitted.  ``files.export`` is
``bench export RUN_DIR --out DIR``; ``tracking.log_run`` is ``bench export RUN_DIR --mlflow``.
Heavy imports (pandas, Matplotlib, MLflow) happen inside the functions.
"""

from __future__ import annotations

FORMATS = ("latex", "csv", "svg", "pdf", "parquet")


def parse_formats(text: str) -> tuple[str, ...]:
    """``"latex,csv"`` → ``("latex", "csv")``; ``all`` → every format."""
    from benchmark.errors import InputError

    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["all"]:
        return FORMATS
    bad = [p for p in parts if p not in FORMATS]
    if bad or not parts:
        raise InputError(f"unknown format {bad[0] if bad else text!r}; give a comma-separated list of {', '.join(FORMATS)} (or all)",
                         where="--format")
    return tuple(dict.fromkeys(parts))
