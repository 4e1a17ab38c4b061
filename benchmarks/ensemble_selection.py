"""Post-hoc ensemble selection against the best single candidate, on the outer test folds of a
finished run (issue 14, item 6).

Reads a run directory that has out-of-fold predictions (a suite with ``ensemble_selection``),
rebuilds each (task, fold) library exactly as the runner does, and scores on the outer test fold:

* ``plain``: greedy selection as it was before the safeguards (pooled rows, no screen, no
  library cap);
* ``hardened``: with the screen (constants, no better than a constant, library cap) and scores
  per inner fold, without the cross-fitted check;
* ``crosschecked``: the selection the runner now makes (``benchmark.run.selection``: the above
  plus the cross-fitted check that falls back to the best single member);
* the best single candidate picked on its inner (validation) score, fold by fold — the fair
  rival — and the best single candidate by mean test score, picked with hindsight (what the
  report's post-hoc table compares with, which favours it);
* with ``--per-candidate``: each candidate's own "tuned + ensembled" (selection over its own
  trials) against its tuned model.

Every selected configuration is refitted on the outer training rows, so this takes a while
(minutes on the quick suite).

    .venv/bin/python benchmarks/ensemble_selection.py reports/quick-... --suite suites/quick.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.config import load_suite  # noqa: E402
from benchmark.metrics import get_metric  # noqa: E402
from benchmark.results.records import latest_jobs  # noqa: E402
from benchmark.results.store import Store  # noqa: E402
from benchmark.run.driver import expand_selection_jobs, load_tasks, make_plans  # noqa: E402
from benchmark.run.ensembles import refit_and_score, validation_library  # noqa: E402
from benchmark.run.selection import greedy_selection, library_cap, per_candidate_selection  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--suite", default=str(ROOT / "suites" / "quick.yaml"))
    ap.add_argument("--per-candidate", action="store_true", help="also score each candidate's own tuned + ensembled")
    args = ap.parse_args(argv)
    suite = load_suite(args.suite)
    tasks = load_tasks(suite)
    plans = make_plans(suite, tasks)
    store = Store(args.run_dir)
    records = [r for r in latest_jobs(store.records()) if r.get("state") == "ok" and not r.get("post_hoc")]
    jobs = expand_selection_jobs(suite, tasks, plans, store, in_memory=False, n_threads=1)
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    own_rows: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for job in jobs:
        metric = get_metric(job.metric)
        col = f"test_{job.metric}"
        lib = validation_library(job)
        plain = greedy_selection(lib.preds, lib.y, metric, n_classes=lib.n_classes, rounds=job.rounds, screen=False, max_size=None)
        hard = greedy_selection(lib.preds, lib.y, metric, n_classes=lib.n_classes, rounds=job.rounds, groups=lib.groups,
                                labels=lib.labels, max_size=library_cap(len(lib.y)), crosscheck=False)
        checked = greedy_selection(lib.preds, lib.y, metric, n_classes=lib.n_classes, rounds=job.rounds, groups=lib.groups,
                                   labels=lib.labels, max_size=library_cap(len(lib.y)))
        singles = {r["candidate"]: r for r in records if r["task"] == job.task.name and r["fold"] == job.fold.index}
        by_val = max(singles.values(), key=lambda r: metric.oriented(r["best_inner_score"]))
        hard_score = refit_and_score(job, hard.weights)[col]
        rows[job.task.name].append({
            "plain": refit_and_score(job, plain.weights)[col],
            "hardened": hard_score,
            "crosschecked": refit_and_score(job, checked.weights)[col] if checked.weights != hard.weights else hard_score,
            "best single (validation)": by_val[col],
            **{f"single {c}": r[col] for c, r in singles.items()},
            "_members_plain": len(plain.weights), "_members_hard": len(hard.weights),
        })
        print(f"{job.task.name} fold {job.fold.index}: plain {rows[job.task.name][-1]['plain']:.4f} ({len(plain.weights)} members, "
              f"{sum(w for i, w in plain.weights.items() if lib.labels[i] == 'dummy'):.2f} on dummy) · hardened {rows[job.task.name][-1]['hardened']:.4f} "
              f"({len(hard.weights)} members, dropped {len(hard.excluded)} of {len(lib.preds)}) · crosschecked "
              f"{rows[job.task.name][-1]['crosschecked']:.4f} ({len(checked.weights)} members) · best single by validation "
              f"{by_val['candidate']} {by_val[col]:.4f}", flush=True)
        if args.per_candidate:
            own = per_candidate_selection(lib.preds, lib.y, metric, lib.labels, n_classes=lib.n_classes, rounds=job.rounds,
                                          groups=lib.groups, max_size=library_cap(len(lib.y)))
            for name, (idx, sel) in own.items():
                if name in singles:
                    weights = {idx[i]: w for i, w in sel.weights.items()}
                    own_rows[(job.task.name, name)].append((singles[name][col], refit_and_score(job, weights)[col]))
    print("\nMean outer-test score per task")
    gains: dict[str, list[float]] = defaultdict(list)
    for task, rs in rows.items():
        metric = get_metric(next(j.metric for j in jobs if j.task.name == task))
        mean = {k: float(np.mean([r[k] for r in rs if k in r])) for k in rs[0]}
        singles = {k[len("single "):]: v for k, v in mean.items() if k.startswith("single ")}
        hind = max(singles, key=lambda c: metric.oriented(singles[c]))
        print(f"  {task} ({metric.name}): plain {mean['plain']:.4f} · hardened {mean['hardened']:.4f} · crosschecked {mean['crosschecked']:.4f} · best single by validation "
              f"{mean['best single (validation)']:.4f} · best single with hindsight {hind} {singles[hind]:.4f} · "
              f"members plain {mean['_members_plain']:.1f}, hardened {mean['_members_hard']:.1f}")
        for name in ("plain", "hardened", "crosschecked"):
            for rival, score in (("validation", mean["best single (validation)"]), ("hindsight", singles[hind])):
                gains[f"{name} vs best single ({rival})"].append((metric.oriented(mean[name]) - metric.oriented(score)) / abs(score) * 100)
    print("Relative gain in % of the rival's score (positive = the ensemble is better):")
    for k, v in gains.items():
        print(f"  {k}: mean {np.mean(v):+.3f} %, not worse on {sum(x >= 0 for x in v)} of {len(v)} tasks "
              f"(per task: {', '.join(f'{x:+.3f}' for x in v)})")
    if own_rows:
        print("\nTuned + ensembled per candidate (mean outer-test score: tuned -> tuned + ensembled)")
        for (task, name), pairs in sorted(own_rows.items()):
            tuned, ens = np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
            print(f"  {task:<14} {name:<14} {tuned:.4f} -> {ens:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
