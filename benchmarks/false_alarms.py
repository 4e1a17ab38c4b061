"""False-alarm rate of ``bench regress`` on runs that differ only in the models' own random seeds.

Runs a suite N times with the splits fixed (``seed``) and ``model_seed`` = 0, 1, …, N-1 (which
changes the models' and the tuning sampler's seeds only), then compares

* every run with the first one (N - 1 comparisons: "a CI run against its baseline"), and
* every pair of runs (N(N-1)/2 comparisons, not independent),

with the default rule (tolerance, alpha, fit-time ratio and floor).  Nothing really changed, so
every flagged regression is a false alarm.  Prints the rates, split by cause (score, fit time,
failures), how often the tolerance alone or the test alone would have fired, and the wall time.
``--time-field fit_seconds`` measures the wall-clock refit time instead of the job's CPU time.

    .venv/bin/python benchmarks/false_alarms.py                  # suites/ci.yaml, 12 runs, --jobs 2
    .venv/bin/python benchmarks/false_alarms.py --runs 20 --suite suites/quick.yaml --out reports/fa

Not a test: it takes minutes (about 40 s per run of suites/ci.yaml on 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.ci.rule import Options, Tolerance, compare  # noqa: E402
from benchmark.ci.snapshot import snapshot_from_run  # noqa: E402
from benchmark.config import load_suite  # noqa: E402
from benchmark.run.driver import run_suite  # noqa: E402


def _rates(results: list, label: str) -> dict:
    n = len(results)
    cells = [c for r in results for c in r.comparisons if c.score_status != "untested"]
    kinds = {k: sum(any(f.kind == k for f in r.regressions) for r in results) for k in ("score", "time", "failure", "missing")}
    out = {
        "comparisons": n,
        "flagged": sum(r.exit_code == 1 for r in results),
        "flagged_by": kinds,
        "flagged_improvement": sum(bool([f for f in r.improvements if f.kind == "score"]) for r in results),
        "cell_tests": len(cells),
        "cell_score_regressions": sum(c.score_status == "regression" for c in cells),
        "cell_beyond_tolerance": sum(c.gain < -c.tolerance for c in cells),
        "cell_significant_only": sum(c.p_worse_holm < r.options.alpha for r in results for c in r.comparisons if c.score_status != "untested"),
        "cell_time_flags": sum(c.time_status in ("regression", "warning") for c in (c for r in results for c in r.comparisons)),
        "max_drop_over_tolerance": max((-c.gain / c.tolerance for c in cells if c.tolerance > 0), default=math.nan),
        "flagged_if_tolerance_only": sum(any(c.gain < -c.tolerance for c in r.comparisons) for r in results),
        "flagged_if_test_only": sum(any(c.p_worse_holm < r.options.alpha for c in r.comparisons) for r in results),
    }
    rate = out["flagged"] / n if n else math.nan
    print(f"\n{label}: {out['flagged']} of {n} comparisons flagged a regression (false-alarm rate {rate:.1%}); "
          f"by cause: {kinds}")
    print(f"  task × candidate score tests: {out['cell_tests']}, flagged {out['cell_score_regressions']} "
          f"({out['cell_score_regressions'] / max(out['cell_tests'], 1):.2%}); drop beyond tolerance alone: "
          f"{out['cell_beyond_tolerance']}; Holm-significant drop alone: {out['cell_significant_only']}; "
          f"largest mean drop {out['max_drop_over_tolerance']:.2f} × the tolerance")
    print(f"  comparisons that would be flagged by the tolerance alone: {out['flagged_if_tolerance_only']} of {n}; "
          f"by the significance test alone: {out['flagged_if_test_only']} of {n}")
    print(f"  time flags (regression or warning): {out['cell_time_flags']}; comparisons flagging an improvement: "
          f"{out['flagged_improvement']}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", default=str(ROOT / "suites" / "ci.yaml"))
    p.add_argument("--runs", type=int, default=12)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", help="keep the runs here (default: a temporary folder, removed afterwards)")
    p.add_argument("--tolerance", default=None)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--times", default="auto", choices=["auto", "fail", "warn", "off"])
    p.add_argument("--time-field", default="cpu_seconds", choices=["cpu_seconds", "fit_seconds", "tune_seconds", "total_seconds"])
    p.add_argument("--reuse", action="store_true", help="with --out: reuse complete runs already there (compare only)")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    suite = load_suite(args.suite)
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="false-alarms-"))
    work.mkdir(parents=True, exist_ok=True)
    snaps = []
    try:
        for i in range(args.runs):
            out = work / f"run-{i:02d}"
            if args.reuse and (out / "results.csv").is_file():
                snaps.append(snapshot_from_run(out))
                continue
            if out.exists():
                shutil.rmtree(out)
            t = time.perf_counter()
            run_suite(suite.with_overrides(model_seed=i), out=out, jobs=args.jobs, progress=False)
            snaps.append(snapshot_from_run(out))
            print(f"run {i + 1}/{args.runs} (model_seed {i}): {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)
    t_runs = time.perf_counter() - t0
    opts = Options(tolerance=Tolerance.parse(args.tolerance), alpha=args.alpha, times=args.times, time_field=args.time_field)
    t1 = time.perf_counter()
    vs_first = [compare(snaps[0], s, opts) for s in snaps[1:]]
    pairs = [compare(a, b, opts) for a, b in itertools.combinations(snaps, 2)]
    t_cmp = time.perf_counter() - t1
    print(f"\nsuite {suite.name}: {len(suite.tasks)} task(s) × {len(suite.candidates)} candidate(s) × {suite.folds * suite.repeats} folds; "
          f"{args.runs} runs, model_seed 0..{args.runs - 1}, splits fixed (seed {suite.seed}); "
          f"rule: tolerance {opts.tolerance.describe()}, alpha {opts.alpha}, median {opts.time_field} ×{opts.time_ratio} and +{opts.time_floor} s "
          f"(times {vs_first[0].times_mode if vs_first else args.times})")
    summary = {"suite": suite.name, "runs": args.runs, "jobs": args.jobs,
               "vs_first": _rates(vs_first, "each run vs the first"), "all_pairs": _rates(pairs, "all pairs")}
    summary["seconds_runs"], summary["seconds_compare"] = round(t_runs, 1), round(t_cmp, 2)
    print(f"\nwall time: {t_runs:.0f} s for the runs ({t_runs / max(args.runs, 1):.1f} s each), {t_cmp:.2f} s for "
          f"{len(vs_first) + len(pairs)} comparisons")
    if args.out:
        summary["time_field"] = args.time_field
        (work / "false_alarms.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
