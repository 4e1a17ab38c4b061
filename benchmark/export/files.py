"""``bench export``: a run's tables, figures and data as files a paper or a notebook takes as they are.

:func:`export` reads the run once (the same :class:`~benchmark.report.analysis.Analysis` the HTML
report is built from) and writes, for each requested format:

- ``latex``: ``leaderboard.tex`` and ``task-<name>.tex`` (booktabs);
- ``csv``: ``leaderboard.csv`` and ``per_task.csv`` (tidy; text cells safe for spreadsheets);
- ``svg`` / ``pdf``: every figure of the report as a standalone file;
- ``parquet``: ``results.parquet`` and ``trials.parquet``.

Files are replaced atomically and their content depends only on the records, so exporting again
gives the same files.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from benchmark.errors import InputError
from benchmark.export import FORMATS

log = logging.getLogger(__name__)


def load(run_dir: str | Path, *, force: bool = False):
    """The run's table, records and analysis (refusing a run directory that mixes data or splits)."""
    from benchmark.report.analysis import analyse
    from benchmark.results.store import Store, require_unmixed
    from benchmark.results.table import ResultTable

    require_unmixed(run_dir, force=force)
    store = Store(run_dir)
    manifest = store.read_manifest()
    records = list(store.records())
    table = ResultTable.from_records(records, manifest)
    return table, records, analyse(table, manifest, records)


def export(run_dir: str | Path, out: str | Path | None = None, formats: tuple[str, ...] | list[str] = FORMATS,
           *, force: bool = False) -> list[Path]:
    """Write the requested ``formats`` of the run at ``run_dir`` into ``out`` (default
    ``RUN_DIR/export``); returns the files written."""
    from benchmark.export import tables
    from benchmark.export.data import write_parquet
    from benchmark.export.figures import write_figures
    from benchmark.export.latex import slug
    from benchmark.serialize import csv_text, write_text_atomic

    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InputError(f"unknown format {bad[0]!r}; choose from {', '.join(FORMATS)}", where="--format")
    t0 = time.perf_counter()
    table, records, a = load(run_dir, force=force)
    dest = Path(out) if out is not None else Path(run_dir) / "export"
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "latex" in formats:
        written.append(write_text_atomic(dest / "leaderboard.tex", tables.leaderboard_latex(a)))
        for task in a.tasks:
            written.append(write_text_atomic(dest / f"task-{slug(task)}.tex", tables.task_latex(a, task)))
    if "csv" in formats:
        import pandas as pd

        written.append(write_text_atomic(dest / "leaderboard.csv", csv_text(tables.leaderboard_frame(a))))
        frames = [tables.task_frame(a, t) for t in a.tasks]
        written.append(write_text_atomic(dest / "per_task.csv", csv_text(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())))
    figs = tuple(f for f in ("svg", "pdf") if f in formats)
    if figs:
        written += write_figures(a, dest, figs)
    if "parquet" in formats:
        written += write_parquet(table, records, dest)
    log.info("exported %d files to %s in %.1f s", len(written), dest, time.perf_counter() - t0)
    return written
