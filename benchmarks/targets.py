"""The suites' time targets, measured in one run (issue #15): times and ratios, printed as one table.

1. **quick suite** (``suites/quick.yaml``, every candidate) wall time with ``--jobs 2``
   (target ≤ 120 s on 2 cores), as ``bench run`` does it from the command line;
2. **standard suite** end to end (``--standard``; target ≤ 20 min; long, so off by default);
3. **harness overhead**: toolkit ÷ hand-written scikit-learn loop on the fixed design of
   ``benchmarks/overhead.py`` (target ≤ 1.03; reuses its functions);
4. **2 workers vs 1** on the same design (target ≥ 1.9× on a quiet machine), with where the
   missing time goes: time outside the jobs and the tail (the last job running alone while the
   other worker idles); measured warm (each run adopts the workers the run before it parked, as
   every run after the first in a process does) and cold (each run spawns its workers);
5. **re-running a finished run** (``bench run --resume`` on the quick run of 1; target ≤ 2 s,
   zero fits, the report not rebuilt), and the same with ``--force`` (the full resume path,
   which does not use the run's ``finished.json`` stamp);
6. **disk used by saved predictions** (``test/`` and ``oof/``) per job of the quick run.

    .venv/bin/python benchmarks/targets.py                     # 1, 3-6 (about 5 minutes on 2 quiet cores)
    .venv/bin/python benchmarks/targets.py --standard          # and 2 (about 20-30 minutes more)
    .venv/bin/python benchmarks/targets.py --final bag         # the suites run with final: bag (or refit)
    .venv/bin/python benchmarks/targets.py --quick-suite FILE  # a smaller suite instead of quick (to try the script)
    .venv/bin/python benchmarks/targets.py --bag-vs-refit suites/standard.yaml   # scores and CPU of both finals
    .venv/bin/python benchmarks/targets.py --bag-vs-refit suites/standard.yaml --refit-run RUN  # reuse a kept refit run

Not a test: it measures time, which tests never assert.  ``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import overhead  # noqa: E402  (benchmarks/overhead.py: the fixed design, the loop, toolkit_run)

from benchmark.config import parse_suite  # noqa: E402
from benchmark.results.table import ResultTable  # noqa: E402


def bench_run(suite: str, out: Path, *, jobs: int, final: str | None, resume: bool = False, force: bool = False) -> tuple[float, str, int]:
    """``bench run SUITE`` in a subprocess; (wall seconds, its output, exit code).  The CPU seconds
    of it and its workers go to ``LAST_CPU`` (robust to other load on the machine)."""
    cmd = [sys.executable, "-m", "benchmark", "run", suite, "--out", str(out), "--jobs", str(jobs), "--no-progress"]
    if final:
        cmd += ["--final", final]
    if resume:
        cmd.append("--resume")
    if force:
        cmd.append("--force")
    t0, c0 = time.perf_counter(), _children_cpu()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    LAST_CPU[0] = _children_cpu() - c0
    return time.perf_counter() - t0, res.stdout + res.stderr, res.returncode


LAST_CPU = [0.0]


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def records(run_dir: Path) -> list[dict[str, Any]]:
    with (run_dir / "records.jsonl").open(encoding="utf-8") as fh:
        return [r for r in map(json.loads, fh) if r.get("type") == "job"]


def disk_per_job(run_dir: Path) -> dict[str, float]:
    """Bytes of ``test/`` and ``oof/`` per job that saved a file there, and the run's job count."""
    out: dict[str, float] = {"jobs": len(records(run_dir))}
    for name in ("test", "oof"):
        files = list((run_dir / name).rglob("*.npz")) if (run_dir / name).is_dir() else []
        out[f"{name}_files"] = len(files)
        out[f"{name}_bytes"] = sum(f.stat().st_size for f in files)
        out[f"{name}_per_job_kb"] = out[f"{name}_bytes"] / len(files) / 1024 if files else 0.0
    return out


def tail_and_startup(run_dir: Path, wall: float, workers: int) -> dict[str, float]:
    """Where a parallel run's wall time goes, from its records (``total_seconds`` per job, per worker pid)."""
    recs = records(run_dir)
    busy: dict[Any, float] = {}
    for r in recs:
        busy[r.get("pid")] = busy.get(r.get("pid"), 0.0) + float(r.get("total_seconds") or 0.0)
    work = sum(busy.values())
    longest = max((float(r.get("total_seconds") or 0.0) for r in recs), default=0.0)
    return {"job_seconds": work, "ideal": max(work / workers, longest), "longest_job": longest,
            "imbalance": (max(busy.values()) - min(busy.values())) if len(busy) > 1 else 0.0,
            "outside_jobs": wall - max(busy.values(), default=0.0)}


def compare_finals(refit_dir: Path, bag_dir: Path) -> list[str]:
    """Lines comparing two runs of one suite, ``final: refit`` and ``final: bag``: per candidate the
    mean outer-test score (tuning metric) per task, CPU seconds (jobs and curves) and fits."""
    runs = {"refit": records(refit_dir), "bag": records(bag_dir)}
    lines = [f"{'candidate':<20} {'task':<16} {'metric':<8} {'refit':>9} {'bag':>9}"]
    cost: dict[str, dict[str, list[float]]] = {}
    for final, recs in runs.items():
        for r in recs:
            c = cost.setdefault(r["candidate"], {}).setdefault(final, [0.0, 0, 0])
            c[0] += float(r.get("cpu_seconds") or 0.0)
            c[1] += int(r.get("n_fits") or 0) + int(r.get("curve_fits") or 0)
            c[2] += int(r.get("fits_saved") or 0)
    # mean outer-test score per task x candidate in the task's tuning metric: ResultTable.aggregate, as the leaderboard
    agg = {final: ResultTable.from_run(d).aggregate().set_index(["task", "candidate"]) for final, d in (("refit", refit_dir), ("bag", bag_dir))}
    cells = agg["refit"][["metric", "greater_is_better", "mean"]].join(agg["bag"]["mean"].rename("bag")).sort_index()
    tally: dict[str, list[float]] = {}  # metric -> oriented relative change, bag against refit
    for (task, cand), c in cells.iterrows():
        lines.append(f"{cand:<20} {task:<16} {c.metric:<8} {c['mean']:9.4f} {c.bag:9.4f}")
        if not (math.isnan(c["mean"]) or math.isnan(c.bag) or c["mean"] == 0):
            tally.setdefault(c.metric, []).append((c.bag - c["mean"]) / abs(c["mean"]) * (1 if c.greater_is_better else -1))
    lines.append("\nbag against refit, per task x candidate cell (mean over outer folds; + is better for bag):")
    for metric, rel in sorted(tally.items()):
        better, worse = sum(x > 1e-9 for x in rel), sum(x < -1e-9 for x in rel)
        lines.append(f"  {metric:<8} {len(rel)} cells: bag better on {better}, worse on {worse}, same on {len(rel) - better - worse}; "
                     f"median relative change {statistics.median(rel) * 100:+.2f}% (range {min(rel) * 100:+.1f}% to {max(rel) * 100:+.1f}%)")
    lines.append(f"\n{'candidate':<20} {'CPU s refit':>11} {'CPU s bag':>10} {'fits refit':>10} {'fits bag':>9} {'saved':>6}")
    for cand, by in cost.items():
        a, b = by.get("refit", [0, 0, 0]), by.get("bag", [0, 0, 0])
        lines.append(f"{cand:<20} {a[0]:11.1f} {b[0]:10.1f} {a[1]:10d} {b[1]:9d} {b[2]:6d}")
    tot = [sum(by.get(f, [0, 0, 0])[0] for by in cost.values()) for f in ("refit", "bag")]
    lines.append(f"{'all':<20} {tot[0]:11.1f} {tot[1]:10.1f}   (bag ÷ refit CPU = {tot[1] / tot[0]:.2f})" if tot[0] else "")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--standard", action="store_true", help="also time suites/standard.yaml end to end (long)")
    p.add_argument("--final", choices=("refit", "bag"), help="run the suites with this final (default: each suite's own)")
    p.add_argument("--jobs", type=int, default=2, help="workers for the suites (default 2)")
    p.add_argument("--quick-suite", default="suites/quick.yaml", help="the suite timed as 'quick' (default suites/quick.yaml)")
    p.add_argument("--skip-overhead", action="store_true", help="skip 3 and 4 (the overhead design)")
    p.add_argument("--bag-vs-refit", metavar="SUITE", help="only run SUITE twice, final: refit and final: bag, and compare scores and CPU")
    p.add_argument("--refit-run", metavar="RUN_DIR", help="with --bag-vs-refit: take the refit side from this finished run of the same suite (e.g. the --standard run kept with --keep) instead of running it")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the run directories")
    a = p.parse_args()
    if a.refit_run and not (Path(a.refit_run) / "records.jsonl").is_file():
        sys.exit(f"targets.py: --refit-run {a.refit_run}: no records.jsonl there; give the run directory of a finished refit run of the same suite")
    tmp = Path(tempfile.mkdtemp(prefix="targets-"))
    if a.bag_vs_refit:
        dirs = {"refit": Path(a.refit_run) if a.refit_run else tmp / "refit", "bag": tmp / "bag"}
        walls = {"refit": f"(not run: {a.refit_run})"} if a.refit_run else {}
        for final in ("bag",) if a.refit_run else ("refit", "bag"):
            wall, out, rc = bench_run(a.bag_vs_refit, dirs[final], jobs=a.jobs, final=final)
            walls[final] = f"{wall:.1f} s ({LAST_CPU[0]:.0f} s CPU)"
            if rc != 0:
                print(out[-3000:])
        print(f"{a.bag_vs_refit} (--jobs {a.jobs}): refit {walls['refit']}, bag {walls['bag']}; load average {os.getloadavg()[0]:.1f}")
        print("\n".join(compare_finals(dirs["refit"], dirs["bag"])))
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    fig: dict[str, Any] = {"cores": os.cpu_count(), "load_before": os.getloadavg(), "final": a.final or "suite's own"}
    rows: list[tuple[str, str, str]] = []

    quick = tmp / "quick"
    wall, out, rc = bench_run(a.quick_suite, quick, jobs=a.jobs, final=a.final)
    n = len(records(quick)) if (quick / "records.jsonl").exists() else 0
    fig["quick"] = {"seconds": wall, "cpu": LAST_CPU[0], "rc": rc, "jobs": n}
    rows.append((f"quick suite ({a.quick_suite}, --jobs {a.jobs}, {n} jobs)", f"{wall:.1f} s ({LAST_CPU[0]:.0f} s CPU)" + ("" if rc == 0 else f" (exit {rc})"), "≤ 120 s"))
    if rc != 0:
        print(out[-3000:])

    if a.standard:
        wall_s, out_s, rc_s = bench_run("suites/standard.yaml", tmp / "standard", jobs=a.jobs, final=a.final)
        fig["standard"] = {"seconds": wall_s, "cpu": LAST_CPU[0], "rc": rc_s}
        rows.append((f"standard suite end to end (--jobs {a.jobs})", f"{wall_s / 60:.1f} min ({LAST_CPU[0] / 60:.0f} min CPU)" + ("" if rc_s == 0 else f" (exit {rc_s})"), "≤ 20 min"))

    if not a.skip_overhead:
        suite = parse_suite(overhead.DESIGN)
        small = parse_suite({**overhead.DESIGN, "folds": 2, "tasks": overhead.DESIGN["tasks"][:1]})
        overhead.direct_run(small)  # warm both paths once
        shutil.rmtree(overhead.toolkit_run(small, jobs=1)[3])
        loop_wall, loop_cpu, _ = overhead.direct_run(suite)
        tk_wall, tk_cpu, _, d0 = overhead.toolkit_run(suite, jobs=1)
        fig["overhead"] = {"loop_wall": loop_wall, "loop_cpu": loop_cpu, "toolkit_wall": tk_wall, "toolkit_cpu": tk_cpu}
        rows.append(("harness overhead, toolkit ÷ hand-written loop", f"{tk_wall / loop_wall:.3f} wall, {tk_cpu / loop_cpu:.3f} CPU", "≤ 1.03"))
        from benchmark.run.executors.local import close_parked

        # cold: every run spawns its workers (a fresh process, as `bench run`)
        close_parked()
        c1, _, _, e1 = overhead.toolkit_run(suite, jobs=1, isolate=True)
        close_parked()
        c2, _, rc2, e2 = overhead.toolkit_run(suite, jobs=2)
        cold_where = tail_and_startup(rc2, c2, 2)
        # warm: both runs adopt the workers the run before parked (later runs in one process)
        w1, _, r1, d1 = overhead.toolkit_run(suite, jobs=1, isolate=True)
        w2, _, r2, d2 = overhead.toolkit_run(suite, jobs=2)
        close_parked()
        where = tail_and_startup(r2, w2, 2)
        fig["parallel"] = {"one": w1, "two": w2, **where, "cold_one": c1, "cold_two": c2, "cold_outside_jobs": cold_where["outside_jobs"]}
        rows.append(("2 workers vs 1, warm workers (overhead design)", f"{w1 / w2:.2f}× ({w1:.1f} s / {w2:.1f} s)", "≥ 1.9×"))
        rows.append(("  where the 2-worker time goes", f"ideal {where['ideal']:.1f} s; longest job {where['longest_job']:.1f} s; "
                     f"worker imbalance (tail) {where['imbalance']:.1f} s; outside the jobs (shipping, records) {where['outside_jobs']:.1f} s", ""))
        rows.append(("2 workers vs 1, cold start (each run spawns)", f"{c1 / c2:.2f}× ({c1:.1f} s / {c2:.1f} s); outside the jobs "
                     f"{cold_where['outside_jobs']:.1f} s", "(start-up is the same for 1 or 2)"))
        if not a.keep:
            for d in (d0, d1, d2, e1, e2):
                shutil.rmtree(d, ignore_errors=True)

    if rc == 0:
        report = quick / "report.html"
        before = report.stat().st_mtime_ns if report.exists() else None
        n_before = len(records(quick))
        rerun, out_r, rc_r = bench_run(a.quick_suite, quick, jobs=a.jobs, final=a.final, resume=True)
        rebuilt = report.stat().st_mtime_ns != before
        fits = len(records(quick)) - n_before
        fig["rerun"] = {"seconds": rerun, "cpu": LAST_CPU[0], "rc": rc_r, "new_records": fits, "report_rebuilt": rebuilt}
        rows.append(("re-run of the finished quick run (--resume)", f"{rerun:.2f} s ({LAST_CPU[0]:.2f} s CPU), {fits} jobs run, report {'rebuilt' if rebuilt else 'not rebuilt'}", "≤ 2 s, 0, not rebuilt"))
        full, _, rc_f = bench_run(a.quick_suite, quick, jobs=a.jobs, final=a.final, resume=True, force=True)
        fig["rerun"]["full_path_seconds"] = full
        rows.append(("  the same with --force (the full resume path, no stamp)", f"{full:.2f} s ({LAST_CPU[0]:.2f} s CPU)" + ("" if rc_f == 0 else f" (exit {rc_f})"), ""))
        disk = disk_per_job(quick)
        fig["disk"] = disk
        rows.append(("saved predictions per job (quick run)", f"test/ {disk['test_per_job_kb']:.1f} kB × {disk['test_files']} files, "
                     f"oof/ {disk['oof_per_job_kb']:.1f} kB × {disk['oof_files']} files "
                     f"({(disk['test_bytes'] + disk['oof_bytes']) / 2**20:.1f} MiB in all)", "stated"))

    fig["load_after"] = os.getloadavg()
    width = max(len(r[0]) for r in rows)
    print(f"\n{os.cpu_count()} cores; load average before {fig['load_before'][0]:.1f}, after {fig['load_after'][0]:.1f}; final: {fig['final']}")
    for what, value, target in rows:
        print(f"{what:<{width}}  {value}" + (f"   (target {target})" if target else ""))
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=2, default=float), encoding="utf-8")
    if a.keep:
        print(f"run directories under {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
