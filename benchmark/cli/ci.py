"""``bench baseline``, ``bench regress`` and ``bench history``: the command-line glue of CI
regression tracking (the logic lives in :mod:`benchmark.ci`).

Exit codes of ``bench regress``: 0 no regression, 1 regression found, 2 unusable input (missing
or damaged files, runs that are not comparable because data, splits or protocol changed).
Nothing heavy is imported until a command runs, so ``bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmark.cli import argtypes
from benchmark.errors import BenchmarkError

_RATIO = argtypes.bounded(float, lambda v: v > 1.0, "must be > 1, e.g. 2 = twice as slow (got {text})")
_SECONDS = argtypes.bounded(float, lambda v: v >= 0.0, "must be ≥ 0 seconds (got {text})")


def _rule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metric", help="compare on test_METRIC (default: each task's tuning metric)")
    p.add_argument("--tolerance", metavar="T", help="practical tolerance: metric units (0.01) or percent of the baseline mean (2%%); "
                                                    "default 0.01 for scores in [0, 1], 1%% of the baseline for rmse/mae/log_loss")
    p.add_argument("--alpha", type=argtypes.fraction, default=0.05, help="significance level of the one-sided corrected t-test after Holm (default 0.05)")
    p.add_argument("--time-field", choices=["cpu_seconds", "fit_seconds", "tune_seconds", "total_seconds"], default="cpu_seconds",
                   help="time compared: the job's CPU seconds (default; robust to other load), the final refit's wall seconds, "
                        "the tuning's wall seconds, or the job's wall seconds")
    p.add_argument("--time-ratio", type=_RATIO, default=3.0, help="time regression: the median time grew by more than this factor (default 3)")
    p.add_argument("--time-floor", type=_SECONDS, default=0.05, help="... and by more than this many seconds (default 0.05)")
    p.add_argument("--times", choices=["auto", "fail", "warn", "off"], default="auto",
                   help="time check: auto = fail on the same machine class, warn otherwise (default); fail; warn; off")


def add_parser(sub: Any) -> None:
    """Register ``baseline``, ``regress`` and ``history`` on an argparse subparsers object."""
    base = sub.add_parser("baseline", help="store a compact baseline of a run for CI regression checks",
                          description="Write a run's fold scores, times and provenance as a small JSON baseline.")
    base.add_argument("run_dir", help="a complete run directory (from `bench run`)")
    base.add_argument("--out", help="baseline file to write (default RUN_DIR/baseline.json)")
    base.add_argument("--allow-incomplete", action="store_true", help="accept a run with missing jobs")

    reg = sub.add_parser("regress", help="compare a run against a baseline; exit 1 on a real regression",
                         description="Compare RUN against BASELINE per task and candidate on paired fold scores. "
                                     "Exit codes: 0 no regression, 1 regression, 2 unusable or incomparable input.")
    reg.add_argument("baseline", help="baseline JSON file (from `bench baseline`) or a run directory")
    reg.add_argument("run_dir", help="the new run directory (or a baseline JSON file)")
    _rule_options(reg)
    reg.add_argument("--allow-missing", action="store_true", help="candidates/tasks that disappeared are warnings, not regressions")
    reg.add_argument("--markdown", metavar="FILE", help="also write a Markdown summary (for a pull-request comment)")
    reg.add_argument("--junit", metavar="FILE", help="also write JUnit XML (for CI test-result views)")
    reg.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    reg.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")

    hist = sub.add_parser("history", help="keep runs by commit and draw score/time trends",
                          description="`bench history append RUN_DIR --file F` adds a run to a history file (JSON lines); "
                                      "`bench history show SOURCE... --out page.html` draws the trends.")
    hsub = hist.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    app = hsub.add_parser("append", help="append a run to a history file (JSON lines, one run per line)")
    app.add_argument("run_dir")
    app.add_argument("--file", required=True, help="history file, e.g. reports/history.jsonl (created if missing)")
    app.add_argument("--commit", help="commit to file the run under (default: the run's git commit)")
    app.add_argument("--label", help="a short label, e.g. a branch or PR number")
    app.add_argument("--keep", type=argtypes.positive_int, help="keep only the newest N entries")
    show = hsub.add_parser("show", help="draw per-candidate score and time trends as one HTML page")
    show.add_argument("sources", nargs="+", help="history files, baseline JSON files and/or run directories")
    show.add_argument("--out", default="history.html", help="HTML file to write (default history.html)")
    _rule_options(show)


def run(args: argparse.Namespace) -> int:
    """Run one of the sub-commands with parsed ``args``; returns the exit code."""
    if args.command == "baseline":
        return _baseline(args)
    if args.command == "regress":
        return _regress(args)
    if args.command == "history":
        return _history(args)
    raise AssertionError(args.command)


def _options(args: argparse.Namespace) -> Any:
    from benchmark.ci.rule import Options, Tolerance

    return Options(metric=args.metric, tolerance=Tolerance.parse(args.tolerance), alpha=args.alpha,
                   time_ratio=args.time_ratio, time_floor=args.time_floor, times=args.times, time_field=args.time_field,
                   allow_missing=getattr(args, "allow_missing", False))


def _baseline(args: argparse.Namespace) -> int:
    from benchmark.ci.baseline import write_baseline
    from benchmark.ci.snapshot import incomplete_cells, snapshot_from_run
    from benchmark.errors import InputError

    snap = snapshot_from_run(args.run_dir)
    gaps = incomplete_cells(snap)
    if gaps and not args.allow_incomplete:
        more = f" and {len(gaps) - 3} more" if len(gaps) > 3 else ""
        raise InputError(f"{args.run_dir}: run is incomplete ({'; '.join(gaps[:3])}{more}); finish it with "
                         f"`bench run SUITE --resume --out {args.run_dir}`, or pass --allow-incomplete")
    out = write_baseline(snap, args.out or Path(args.run_dir) / "baseline.json")
    n_failed = sum(r.get("state") != "ok" for r in snap.rows)
    print(f"baseline: {out} ({len(snap.tasks)} task(s), {len(snap.candidates())} candidate(s), {len(snap.rows)} fold results"
          f"{f', {n_failed} failed' if n_failed else ''}; commit {snap.commit or 'unknown'})")
    return 0


def _write(path: str | None, text: str) -> None:
    if path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def _regress(args: argparse.Namespace) -> int:
    from benchmark.ci.baseline import load_snapshot
    from benchmark.ci.render import error_junit, error_markdown
    from benchmark.ci.rule import compare

    try:
        opts = _options(args)
        result = compare(load_snapshot(args.baseline), load_snapshot(args.run_dir), opts)
    except BenchmarkError as err:  # still leave a comment/test report for CI to show
        _write(args.markdown, error_markdown(str(err)))
        _write(args.junit, error_junit(str(err)))
        raise
    _write(args.markdown, result.to_markdown())
    _write(args.junit, result.to_junit_xml())
    if args.json:
        import json

        _write(args.json, json.dumps(result.to_dict(), indent=1) + "\n")
    text = result.to_text()
    print(text.splitlines()[-1] if args.quiet else text, end="\n" if args.quiet else "")
    return result.exit_code


def _history(args: argparse.Namespace) -> int:
    from benchmark.ci import history

    if args.history_command == "append":
        n = history.append(args.run_dir, args.file, commit=args.commit, label=args.label, keep=args.keep)
        print(f"history: {args.file} ({n} run(s))")
        return 0
    page = history.write_page(args.sources, args.out, options=_options(args))
    print(f"history page: {page}")
    return 0
