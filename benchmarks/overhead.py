"""What the toolkit costs on top of the fits it runs, how well it uses two cores, how fast it starts.

One run prints four figures:

1. **Harness overhead**: the wall time of ``run_suite`` (one worker, in-process; records,
   manifest and CSV export written; HTML report off) on a fixed design — 3 datasets × 3
   candidates × 3 outer folds, ``trials: 1`` (only the default configuration, still scored on the
   2 inner folds), no curves — divided by the wall time of the same fits and scores written
   directly with scikit-learn: the same data, the same splits (taken from the toolkit's FoldPlan),
   the same pipelines (``build_estimator``), the same seeds, one thread, the metrics computed with
   ``sklearn.metrics``.  The test scores of both must agree; the largest difference is printed.
2. **Parallel efficiency**: the same jobs with ``--jobs 1`` (in-process) and ``--jobs 2``
   (two worker processes, spawned): speed-up and efficiency (speed-up / 2).
3. **Cold start**: median wall time of ``bench --help`` over 5 runs, and which heavy libraries
   that imports (``python -X importtime``).
4. **Peak memory of the large suite** (``--large``, about 6 minutes): ``bench run
   suites/large.yaml --jobs 2`` in a subprocess, the resident memory of the driver plus its
   workers summed and sampled every 0.2 s with psutil.

    .venv/bin/python benchmarks/overhead.py            # 1-3, about 2 minutes on 2 cores
    .venv/bin/python benchmarks/overhead.py --large    # and 4

Not a test: it measures time, which tests never assert.
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

from benchmark.config import parse_suite  # noqa: E402

#: The fixed design: three real datasets of different kinds and sizes, three pipelines.
DESIGN = {
    "name": "overhead",
    "seed": 0,
    "folds": 3,
    "inner": 2,
    "trials": 1,
    "learning_curve": False,
    "budget_curve": False,
    "metric": {"classification": "roc_auc", "regression": "rmse"},
    "tasks": [
        {"dataset": "credit_data"},                 # 4,454 rows, binary, categoricals, missing values
        {"dataset": "hpc"},                         # 4,331 rows, 4 classes
        {"dataset": "diamonds", "max_rows": 5000},  # regression
    ],
    "candidates": [
        "linear",
        "hist_gb",
        {"name": "random_forest", "base": "random_forest", "params": {"n_estimators": 100}},
    ],
}

HEAVY = ("torch", "xgboost", "catboost", "lightgbm", "sklearn", "dask", "pandas", "scipy", "optuna")


def toolkit_run(suite, *, jobs: int, isolate: bool = False) -> tuple[float, float, Path, Path]:
    """Run the suite into a fresh temporary folder; (wall seconds, this process's CPU seconds, run dir, temp root).

    ``isolate`` runs even one worker in a separate process (what ``bench run`` does); without it
    ``jobs=1`` runs in this process.
    """
    import inspect

    from benchmark.run.driver import run_suite

    params = inspect.signature(run_suite).parameters
    extra = {"isolate": isolate} if "isolate" in params else {}
    tmp = Path(tempfile.mkdtemp(prefix="overhead-"))
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_suite(suite, out=tmp / "run", jobs=jobs, progress=False, **extra)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert res.n_failed == 0, f"{res.n_failed} jobs failed in {res.run_dir}"
    return seconds, cpu, res.run_dir, tmp


def _sk_scores(kind: str, y, out, k: int) -> dict[str, float]:
    """Every metric the toolkit records, computed directly with sklearn.metrics."""
    import numpy as np
    import sklearn.metrics as skm

    if kind == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y, out))),
            "mae": float(skm.mean_absolute_error(y, out)),
            "r2": float(skm.r2_score(y, out)),
        }
    labels = out.argmax(axis=1)
    auc = skm.roc_auc_score(y, out[:, 1]) if k == 2 else skm.roc_auc_score(y, out, multi_class="ovr", labels=np.arange(k))
    p = np.clip(out, 1e-15, 1.0)
    return {
        "accuracy": float(skm.accuracy_score(y, labels)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, labels)),
        "f1_macro": float(skm.f1_score(y, labels, average="macro", labels=np.arange(k), zero_division=0)),
        "roc_auc": float(auc),
        "log_loss": float(skm.log_loss(y, p / p.sum(axis=1, keepdims=True), labels=np.arange(k))),
    }


def _sk_metric(name: str, y, out, k: int) -> float:
    """The tuning metric alone (what the toolkit computes on inner folds)."""
    import numpy as np
    import sklearn.metrics as skm

    if name == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y, out)))
    if name == "roc_auc":
        return float(skm.roc_auc_score(y, out[:, 1]) if k == 2 else skm.roc_auc_score(y, out, multi_class="ovr", labels=np.arange(k)))
    return _sk_scores("regression" if name in ("mae", "r2") else "binary", y, out, k)[name]


def direct_run(suite) -> tuple[float, float, dict[tuple[str, str, int], dict[str, float]]]:
    """The same fits and scores as a plain loop: load, split, (inner fits), refit, score test and train.

    Returns (wall seconds, CPU seconds, {(task, candidate, fold): test scores}).
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    from benchmark.candidates import build_estimator
    from benchmark.candidates.early_stopping import refit_rounds
    from benchmark.candidates.outputs import boosting_rounds
    from benchmark.data.loaders import load_dataset
    from benchmark.run.worker import schema_of
    from benchmark.splits import make_plan

    scores: dict[tuple[str, str, int], dict[str, float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=1):
        for cfg in suite.tasks:
            task = load_dataset(cfg.dataset, max_rows=cfg.max_rows, seed=suite.seed)
            schema = schema_of(task)
            plan = make_plan(task.y, classification=task.is_classification, folds=suite.folds, inner=suite.inner, seed=suite.seed)
            X, y, k = task.X, task.y, len(task.classes or ())
            metric = suite.metric_for(task.kind)
            for fold in plan.folds:
                Xtr, ytr = X.iloc[fold.train], y[fold.train]
                for cand in suite.candidates:
                    seed = suite.effective_model_seed + fold.index
                    rounds = []
                    for fit_idx, val_idx in fold.inner:  # the one configuration's inner CV (trial 0)
                        est = build_estimator(cand, schema, {}, seed=seed, n_threads=1).fit(Xtr.iloc[fit_idx], ytr[fit_idx])
                        rounds.append(boosting_rounds(est))  # an early-stopped booster's kept rounds (None otherwise)
                        out = est.predict_proba(Xtr.iloc[val_idx]) if task.is_classification else est.predict(Xtr.iloc[val_idx])
                        _sk_metric(metric, ytr[val_idx], np.asarray(out, float), k)  # tuning scores one metric
                    # the refit rule of the toolkit: an early-stopped booster trains its inner fits' rounds, scaled to all rows
                    scaled = refit_rounds([r for r in rounds if r is not None], [len(f) for f, _ in fold.inner], len(fold.train))
                    est = build_estimator(cand, schema, {} if scaled is None else {"rounds": scaled}, seed=seed, n_threads=1).fit(Xtr, ytr)
                    if task.is_classification:
                        test_out, train_out = est.predict_proba(X.iloc[fold.test]), est.predict_proba(Xtr)
                    else:
                        test_out, train_out = est.predict(X.iloc[fold.test]), est.predict(Xtr)
                    scores[(cfg.name, cand.name, fold.index)] = _sk_scores(task.kind, y[fold.test], np.asarray(test_out, float), k)
                    _sk_scores(task.kind, ytr, np.asarray(train_out, float), k)
    return time.perf_counter() - t0, time.process_time() - c0, scores


def max_score_diff(run_dir: Path, direct: dict[tuple[str, str, int], dict[str, float]]) -> tuple[float, int]:
    """Largest |toolkit - direct| over every test metric of every job; and the number of values compared."""
    worst, n, seen = 0.0, 0, set()
    with (run_dir / "records.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("type") != "job":
                continue
            key = (rec["task"], rec["candidate"], rec["fold"])
            seen.add(key)
            for name, value in direct[key].items():
                worst = max(worst, abs(rec[f"test_{name}"] - value)) if math.isfinite(value) else worst
                n += 1
    if seen != set(direct):
        raise AssertionError(f"the toolkit ran {len(seen)} jobs, the loop {len(direct)}")
    return worst, n


def cold_start(repeats: int = 5) -> tuple[float, list[str]]:
    """Median seconds of ``bench --help`` and the heavy libraries it imported."""
    bench = [str(Path(sys.executable).with_name("bench")), "--help"]
    if not Path(bench[0]).exists():
        bench = [sys.executable, "-m", "benchmark", "--help"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(bench, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "benchmark", "--help"], capture_output=True, text=True, cwd=ROOT, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in res.stderr.splitlines() if line.startswith("import time:")}
    return statistics.median(times), [m for m in HEAVY if m in imported]


def peak_memory(cmd: list[str], *, interval: float = 0.2) -> dict[str, Any]:
    """Run ``cmd``; sample the summed RSS of it and all its descendants. Returns peak figures and wall time."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    peak_sum, peak_one, peak_n = 0, 0, 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = []
        for p in procs:
            try:
                rss.append(p.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        peak_sum, peak_one, peak_n = max(peak_sum, sum(rss)), max([peak_one, *rss]), max(peak_n, len(rss))
        time.sleep(interval)
    output = proc.stdout.read() if proc.stdout else ""
    return {"rc": proc.wait(), "seconds": time.perf_counter() - t0, "peak_sum_mb": peak_sum / 2**20,
            "peak_process_mb": peak_one / 2**20, "processes": peak_n, "output": output}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--large", action="store_true", help="also run suites/large.yaml --jobs 2 and report its peak memory (~6 min)")
    p.add_argument("--repeat", type=int, default=2, help="alternate loop and toolkit this many times; the fastest of each counts (default 2)")
    p.add_argument("--keep", action="store_true", help="keep the temporary run directories")
    a = p.parse_args()
    suite = parse_suite(DESIGN)
    n_jobs = len(suite.tasks) * len(suite.candidates) * suite.folds
    print(f"design: {len(suite.tasks)} datasets x {len(suite.candidates)} candidates x {suite.folds} folds = {n_jobs} jobs, "
          f"trials=1 (default configuration on {suite.inner} inner folds), no curves, one model thread; {os.cpu_count()} cores, {_load()}")

    # warm both paths once (imports, registry caches) so neither pays first-use costs in the timing
    small = parse_suite({**DESIGN, "folds": 2, "tasks": DESIGN["tasks"][:1]})
    direct_run(small)
    shutil.rmtree(toolkit_run(small, jobs=1)[3])

    loop_wall, loop_cpu, tk_wall, tk_cpu, outside, dirs = [], [], [], [], [], []
    for _ in range(a.repeat):  # alternate, so a burst of load on the machine hits both sides
        w, c, direct = direct_run(suite)
        loop_wall.append(w)
        loop_cpu.append(c)
        w, c, run_dir, tmp = toolkit_run(suite, jobs=1)
        outside.append(w - sum(json.loads(line).get("total_seconds", 0.0) for line in (run_dir / "records.jsonl").open(encoding="utf-8")))
        tk_wall.append(w)
        tk_cpu.append(c)
        dirs.append(tmp)
        diff, n = max_score_diff(run_dir, direct)
    print(f"\n1. harness overhead (in-process, report off; records, manifest and CSV export on), fastest of {a.repeat}")
    print(f"   scikit-learn loop : {min(loop_wall):7.2f} s wall  {min(loop_cpu):7.2f} s CPU")
    print(f"   toolkit, 1 worker : {min(tk_wall):7.2f} s wall  {min(tk_cpu):7.2f} s CPU")
    print(f"   ratio toolkit/loop: {min(tk_wall) / min(loop_wall):7.3f} wall  {min(tk_cpu) / min(loop_cpu):7.3f} CPU "
          f"(overhead {100 * (min(tk_cpu) / min(loop_cpu) - 1):+.1f}% CPU)")
    print(f"   every run (wall): loop {', '.join(f'{x:.1f}' for x in loop_wall)} s; toolkit {', '.join(f'{x:.1f}' for x in tk_wall)} s")
    print(f"   toolkit time outside the jobs (task loading, plans, manifest, records, CSV export): {min(outside):.2f} s "
          f"= {100 * min(outside) / min(loop_wall):.1f}% of the loop")
    print(f"   test scores: {n} values compared, max |difference| = {diff:.3g}")

    w1, _, _, tmp1 = toolkit_run(suite, jobs=1, isolate=True)
    w2, _, _, tmp2 = toolkit_run(suite, jobs=2)
    dirs += [tmp1, tmp2]
    print(f"\n2. parallel efficiency (same {n_jobs} jobs, worker processes; {_load()})")
    print(f"   1 worker: {w1:7.2f} s   2 workers: {w2:7.2f} s   speed-up {w1 / w2:.2f}x   efficiency {w1 / w2 / 2:.0%}")
    median, heavy = cold_start()
    print("\n3. cold start")
    print(f"   bench --help: median {median * 1000:.0f} ms over 5 runs; heavy modules imported: {', '.join(heavy) or 'none'}")
    if a.large:
        out = Path(tempfile.mkdtemp(prefix="large-"))
        bench = Path(sys.executable).with_name("bench")
        res = peak_memory([str(bench), "run", "suites/large.yaml", "--jobs", "2", "--out", str(out / "run"), "--no-progress"])
        print(f"\n4. large suite (suites/large.yaml, --jobs 2; {_load()})")
        print(f"   exit {res['rc']}, wall {res['seconds'] / 60:.1f} min; peak RSS summed over {res['processes']} processes "
              f"{res['peak_sum_mb']:.0f} MiB (largest single process {res['peak_process_mb']:.0f} MiB)")
        if res["rc"] != 0:
            print(res["output"][-3000:])
        dirs.append(out)
    if a.keep:
        print(f"\nrun directories: {' '.join(map(str, dirs))}")
    else:
        for d in dirs:
            shutil.rmtree(d)


if __name__ == "__main__":
    main()
