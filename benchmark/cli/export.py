"""``bench export RUN_DIR``: tables, figures and data for papers and notebooks, and MLflow.

The work is done in :mod:`benchmark.export`; nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

#: ``--mlflow`` given without a URI: the default local store under the run directory.
DEFAULT_STORE = ""


def add_parser(sub: Any) -> None:
    from benchmark.export import FORMATS

    p = sub.add_parser("export", help="export a run's tables (LaTeX, CSV), figures (SVG, PDF) and data (Parquet); log it to MLflow",
                       description="Write a run's leaderboard and per-task tables, its figures and its data as files, "
                                   "and optionally log it to MLflow (one parent run, one child run per job). Re-running updates, never duplicates.")
    p.add_argument("run_dir", help="a run directory (from `bench run`)")
    p.add_argument("--out", help="output folder (default RUN_DIR/export)")
    p.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                   help=f"comma-separated formats from {','.join(FORMATS)} (default: all)")
    p.add_argument("--mlflow", nargs="?", const=DEFAULT_STORE, default=None, metavar="TRACKING_URI",
                   help="also log to MLflow: a tracking URI (http://…, sqlite:///…) or a folder; "
                        "without a value a local store in RUN_DIR/mlflow (needs pip install -e \".[mlflow]\")")
    p.add_argument("--force", action="store_true", help="export even if records.jsonl mixes records of different data or splits")


def run(args: argparse.Namespace) -> int:
    from benchmark.export import parse_formats
    from benchmark.export.files import export

    formats = parse_formats(args.format)
    t0 = time.perf_counter()
    written = export(args.run_dir, args.out, formats, force=args.force)
    size = sum(p.stat().st_size for p in written)
    folder = written[0].parent if written else Path(args.out or Path(args.run_dir) / "export")
    print(f"exported {len(written)} files ({size / 1024:.0f} kB) to {folder} in {time.perf_counter() - t0:.1f} s")
    if args.mlflow is not None:
        from benchmark.export.tracking import log_run

        t1 = time.perf_counter()
        done = log_run(args.run_dir, args.mlflow or None, artifacts=written, force=args.force)
        print(f"MLflow {done.tracking_uri}: parent run {done.parent_run_id}; child runs: {done.created} created, "
              f"{done.replaced} replaced, {done.unchanged} unchanged ({time.perf_counter() - t1:.1f} s)")
    return 0
