"""Boosted trees with fixed rounds against early stopping, and the two ways to refit.

For each boosted-tree family (``hist_gb``, ``xgboost``, ``lightgbm``, ``catboost``) in its
default configuration (trial 0), on the standard suite's datasets and outer folds (same seed,
same ``max_rows`` subsample, same FoldPlan), fitted on the outer training rows and scored on the
outer test fold with the suite's metric (ROC AUC / RMSE), one thread:

- ``fixed``: the old protocol, 200 rounds (``--fixed-rounds``) on every training row;
- ``es``: early stopping on a split carved from the outer training rows (up to 10,000 rounds,
  adaptive patience);
- ``scaled``: early stopping on each inner fit split (as the tuning trials do), then the mean
  rounds kept × (outer training rows / inner fit rows), refitted on every outer training row
  without a held-out split — how the runner refits (``refit_rounds``). Its CPU column counts the refit only (in a run the inner fits are
  the tuning the job does anyway); ``inner s`` shows what those inner fits cost.

It prints per family one row per task (means over the folds) and a summary: mean CPU seconds,
wins of early stopping over fixed rounds and of ``es`` over ``scaled``, mean ranks.

    .venv/bin/python benchmarks/early_stopping.py                         # the standard suite, about an hour on 2 busy cores
    .venv/bin/python benchmarks/early_stopping.py --tasks 3 --max-rows 500 --folds 1   # a few minutes

Not a test: it measures time, which tests never assert.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILIES = ("hist_gb", "xgboost", "lightgbm", "catboost")
VARIANTS = ("fixed", "es", "scaled")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--suite", default=str(ROOT / "suites" / "standard.yaml"), help="suite whose tasks, folds and seed to use")
    p.add_argument("--tasks", default="", help="a number (the first N tasks) or comma-separated task names; default all")
    p.add_argument("--max-rows", type=int, default=None, help="subsample every task to this many rows (default: the suite's)")
    p.add_argument("--folds", type=int, default=None, help="use only the first N outer folds (default: all)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated boosted-tree candidates")
    p.add_argument("--fixed-rounds", type=int, default=200, help="rounds of the fixed-rounds baseline")
    p.add_argument("--max-rounds", type=int, default=10_000, help="the early-stopping cap")
    p.add_argument("--json", default="", help="also write every measurement to this JSON file")
    return p.parse_args(argv)


def _suite(args: argparse.Namespace):
    import yaml

    from benchmark.config import parse_suite

    raw = yaml.safe_load(Path(args.suite).read_text())
    tasks = raw["tasks"]
    if args.tasks.isdigit():
        tasks = tasks[: int(args.tasks)]
    elif args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        tasks = [t for t in tasks if (t.get("name") or t.get("dataset")) in wanted]
    raw = {**raw, "tasks": tasks, "candidates": list(args.families.split(","))}
    if args.max_rows:
        raw["max_rows"] = args.max_rows
    return parse_suite(raw, source=args.suite, base_dir=str(Path(args.suite).parent))


def _fit_score(cfg, schema, metric, params: dict[str, Any], X, y, fit_rows, test_rows, seed: int) -> tuple[float, float, int]:
    """Fit on ``fit_rows``, score ``test_rows``: (score, CPU seconds of the fit, rounds kept)."""
    from benchmark.candidates import build_estimator
    from benchmark.candidates.outputs import boosting_rounds, predict_output

    est = build_estimator(cfg, schema, params, seed=seed, n_threads=1)
    c = time.process_time()
    est.fit(X.iloc[fit_rows], y[fit_rows])
    cpu = time.process_time() - c
    score = metric.fn(y[test_rows], predict_output(est, X.iloc[test_rows], schema), schema.n_classes)
    return float(score), cpu, int(boosting_rounds(est) or 0)


def _measure(family: str, task, fold, metric, seed: int, args) -> dict[str, Any]:
    from benchmark.candidates.catalog import default_config
    from benchmark.candidates.early_stopping import refit_rounds
    from benchmark.run.worker import schema_of

    cfg = default_config(family)
    cfg = replace(cfg, fixed={**cfg.fixed, "max_rounds": args.max_rounds})
    schema, X, y = schema_of(task), task.X, task.y
    out: dict[str, Any] = {"family": family, "task": task.name, "fold": fold.index}
    out["fixed"] = _fit_score(cfg, schema, metric, {"rounds": args.fixed_rounds}, X, y, fold.train, fold.test, seed)
    out["es"] = _fit_score(cfg, schema, metric, {}, X, y, fold.train, fold.test, seed)
    inner_rounds, inner_rows, inner_cpu = [], [], 0.0
    for fit, val in fold.inner:
        _, cpu, rounds = _fit_score(cfg, schema, metric, {}, X, y, fold.train[fit], fold.train[val], seed)
        inner_rounds.append(rounds)
        inner_rows.append(len(fit))
        inner_cpu += cpu
    scaled = refit_rounds(inner_rounds, inner_rows, len(fold.train))
    out["scaled"] = _fit_score(cfg, schema, metric, {"rounds": scaled}, X, y, fold.train, fold.test, seed)
    out["inner_cpu"] = inner_cpu
    return out


def _table(rows: list[dict[str, Any]], greater: dict[str, bool]) -> str:
    head = f"{'task':<14}{'fixed s':>9}{'fixed':>10}{'es s':>9}{'es':>10}{'rounds':>8}{'scaled s':>10}{'scaled':>10}{'rounds':>8}{'inner s':>9}"
    lines = [head, "-" * len(head)]
    for task in dict.fromkeys(r["task"] for r in rows):
        rs = [r for r in rows if r["task"] == task]

        def m(v: str, i: int, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.mean(r[v][i] for r in rs)

        lines.append(
            f"{task:<14}{m('fixed', 1):>9.2f}{m('fixed', 0):>10.5g}{m('es', 1):>9.2f}{m('es', 0):>10.5g}{m('es', 2):>8.0f}"
            f"{m('scaled', 1):>10.2f}{m('scaled', 0):>10.5g}{m('scaled', 2):>8.0f}{statistics.mean(r['inner_cpu'] for r in rs):>9.2f}"
            + ("" if greater[task] else "   (rmse: lower is better)")
        )
    return "\n".join(lines)


def _summary(rows: list[dict[str, Any]], greater: dict[str, bool]) -> str:
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    means = {t: {v: statistics.mean(r[v][0] for r in rows if r["task"] == t) for v in VARIANTS} for t in tasks}

    def better(t: str, a: str, b: str) -> bool:
        return means[t][a] > means[t][b] if greater[t] else means[t][a] < means[t][b]

    ranks = {v: 0.0 for v in VARIANTS}
    for t in tasks:
        ordered = sorted(VARIANTS, key=lambda v: -means[t][v] if greater[t] else means[t][v])
        for i, v in enumerate(ordered):
            ranks[v] += (i + 1) / len(tasks)
    cpu = {v: statistics.mean(r[v][1] for r in rows) for v in VARIANTS}
    return (
        f"mean CPU s per refit: fixed {cpu['fixed']:.2f}, es {cpu['es']:.2f}, scaled {cpu['scaled']:.2f} (+ inner {statistics.mean(r['inner_cpu'] for r in rows):.2f}); "
        f"es beats fixed on {sum(better(t, 'es', 'fixed') for t in tasks)}/{len(tasks)} tasks, "
        f"scaled beats es on {sum(better(t, 'scaled', 'es') for t in tasks)}/{len(tasks)}; "
        f"mean rank (1 = best): " + ", ".join(f"{v} {ranks[v]:.2f}" for v in VARIANTS)
    )


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    from benchmark.metrics import get_metric
    from benchmark.run.driver import load_tasks, make_plans

    args = _args(argv)
    suite = _suite(args)
    tasks = load_tasks(suite)
    plans = make_plans(suite, tasks)
    all_rows: list[dict[str, Any]] = []
    greater = {name: get_metric(suite.metric_for(t.kind)).greater_is_better for name, t in tasks.items()}
    t0 = time.perf_counter()
    print(f"{len(tasks)} tasks, {args.folds or suite.folds} outer folds, max_rows {args.max_rows or 'as the suite'}; "
          f"fixed = {args.fixed_rounds} rounds, es cap = {args.max_rounds}; default configurations, one thread")
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for family in args.families.split(","):
            rows = []
            for name, task in tasks.items():
                metric = get_metric(suite.metric_for(task.kind))
                for fold in plans[name].folds[: args.folds or None]:
                    print(f"  {family}: {name}, outer fold {fold.index}", file=sys.stderr, flush=True)
                    rows.append(_measure(family, task, fold, metric, suite.effective_model_seed, args))
            print(f"\n== {family} ==  score: {', '.join(sorted({suite.metric_for(t.kind) for t in tasks.values()}))}; s: CPU seconds of the refit")
            print(_table(rows, greater))
            print(_summary(rows, greater), flush=True)
            all_rows += rows
    print(f"\n{time.perf_counter() - t0:.0f} s wall in all")
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1, default=lambda x: None if isinstance(x, float) and math.isnan(x) else str(x)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
