"""Time compare() with your own estimator next to built-in candidates on a real dataset.

    PYTHONPATH=. python benchmarks/own_model.py [--dataset attrition] [--jobs 2] [--trials 10] [--max-rows 1000]

Prints the leaderboard, the wall time and the winner refitted on all rows (best_estimator_).
"""

from __future__ import annotations

import argparse
import time

from scipy.stats import loguniform, randint
from sklearn.ensemble import GradientBoostingClassifier

from benchmark import Candidate, compare
from benchmark.data.resolve import load_task
from benchmark.data.task import TaskConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="attrition")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--max-rows", type=int, default=1000)
    args = ap.parse_args()
    task = load_task(TaskConfig(name=args.dataset, dataset=args.dataset, max_rows=args.max_rows), seed=0)
    y = [task.classes[i] for i in task.y]
    mine = Candidate("my_gb", GradientBoostingClassifier(n_estimators=100),
                     space={"learning_rate": loguniform(1e-2, 0.3), "max_depth": randint(2, 6), "subsample": [0.7, 1.0]})
    t = time.perf_counter()
    res = compare(task.X, y, candidates=["dummy", "linear", "random_forest", "hist_gb", "xgboost", mine], trials=args.trials,
                  folds=args.folds, inner=2, jobs=args.jobs, learning_curve=False, budget_curve=False, name=args.dataset)
    wall = time.perf_counter() - t
    print(f"{args.dataset}: {task.n_rows} rows × {task.n_features} features, {args.folds} folds × {args.trials} trials, jobs={args.jobs}")
    print(res.leaderboard.to_string(index=False))
    print(f"compare() wall time: {wall:.1f} s")
    t = time.perf_counter()
    model = res.best_estimator_
    print(f"best_estimator_: {model.candidate} {model.best_params} (tuned on all rows + refit: {time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
