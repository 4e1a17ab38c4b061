"""Where RealMLP and TabM rank among the other candidates on the standard suite's datasets.

    .venv/bin/python benchmarks/nets.py --from runs/standard-XXXX     # read a finished run: no fits
    .venv/bin/python benchmarks/nets.py                                 # run suites/standard.yaml as is (hours on 2 cores)
    .venv/bin/python benchmarks/nets.py --small                         # 3 datasets, 300 rows, 2 folds, 2 trials, few
                                                                        # candidates: a few minutes

Runs the suite (or a smaller setting of it, with the same datasets and candidate entries) into a
run directory, then prints the leaderboard of ``ResultTable.leaderboard`` (mean rank across
datasets, 1 = best, each dataset ranked by its tuning metric) with realmlp and tabm marked, and
each net's mean rank against the rest. Not a test: its figures depend on the machine and budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NETS = ("realmlp", "tabm")
#: --small: the nets, the plain nets and a few strong and weak references, on three datasets
SMALL = {
    "tasks": ["breast_cancer", "penguins", "concrete"],
    "candidates": ["dummy", "linear", "random_forest", "lightgbm", "mlp", "realmlp", "tabm"],
    "max_rows": 300, "folds": 2, "trials": 2,
}


def small_suite(raw: dict, *, tasks: list[str], candidates: list[str], max_rows: int, folds: int, trials: int) -> dict:
    """The standard suite cut down: the named datasets and candidates (their entries kept as the
    suite writes them, epoch caps included), fewer rows, folds and trials, no curves."""
    def name(entry) -> str:
        return entry if isinstance(entry, str) else entry.get("name")

    def dataset(entry) -> str:
        return entry if isinstance(entry, str) else entry.get("dataset")

    out = dict(raw)
    out.update(
        name=f"{raw.get('name', 'standard')}-nets-small",
        tasks=[t for t in raw["tasks"] if dataset(t) in tasks],
        candidates=[c for c in raw["candidates"] if name(c) in candidates],
        max_rows=max_rows, folds=folds, trials=trials, learning_curve=False,
    )
    return out


def run(args: argparse.Namespace) -> Path:
    import yaml

    from benchmark.config import parse_suite
    from benchmark.run.driver import run_suite

    raw = yaml.safe_load((ROOT / args.suite).read_text())
    if args.small:
        raw = small_suite(raw, **SMALL)
    suite = parse_suite(raw, source=str(ROOT / args.suite), base_dir=str(ROOT))
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nets-")) / "run"
    print(f"running {suite.name}: {len(suite.tasks)} datasets x {len(suite.candidates)} candidates, "
          f"{suite.folds} folds, {suite.trials} trials -> {out}", flush=True)
    res = run_suite(suite, out=out, jobs=args.jobs, progress=False)
    return Path(res.run_dir)


def report(run_dir: Path) -> None:
    import pandas as pd

    from benchmark.results.table import ResultTable

    table = ResultTable.from_run(run_dir)
    board = table.leaderboard()
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        shown = board.copy()
        if "candidate" in shown.columns:
            shown["candidate"] = [f"{c} *" if c in NETS else c for c in shown["candidate"]]
        print(shown.to_string(index=False))
    ranks = dict(zip(board["candidate"], board["mean_rank"], strict=True))
    n = len(ranks)
    for net in NETS:
        if net in ranks:
            better = sorted(c for c, r in ranks.items() if r < ranks[net])
            print(f"{net}: mean rank {ranks[net]:.2f} of {n} candidates; ranked better on average: {', '.join(better) or 'none'}")
        else:
            print(f"{net}: no result in {run_dir}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="from_dir", help="a finished run directory to read instead of running")
    ap.add_argument("--suite", default="suites/standard.yaml")
    ap.add_argument("--small", action="store_true", help="a cut-down setting of the suite (minutes, not hours)")
    ap.add_argument("--out", help="run directory (default: a temporary one)")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    run_dir = Path(a.from_dir) if a.from_dir else run(a)
    report(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
