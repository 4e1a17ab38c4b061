"""A finished run's results as the contestants issue (#14) asks for them, from its records alone
(no refits): the results table, ensemble selection against the best single candidate on the outer
test folds, and the mean rank of ``realmlp`` and ``tabm``.

1. **results table**: per candidate, the mean rank over tasks (the leaderboard's,
   :meth:`benchmark.results.table.ResultTable.leaderboard`), wins, and the mean outer-test score
   per task;
2. **ensemble vs best single**, per (task, outer fold): ``ensemble_selection``'s outer-test score
   against the single candidate a user would have picked on that fold, the one with the best
   inner (validation) score. It is the fair rival: the best by test score is picked with
   hindsight. The table gives the mean difference per task (positive: the ensemble is better)
   and how many folds the ensemble won, tied and lost;
3. **the nets** (every candidate of the ``neural`` family): mean rank among all candidates and
   among the single models (no ``ensemble`` family, no post-hoc candidate).

    .venv/bin/python benchmarks/suite_results.py reports/standard-...     # any run directory

Not a test: it reads a run and prints figures.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.candidates import get_spec  # noqa: E402
from benchmark.errors import InputError  # noqa: E402
from benchmark.metrics import get_metric  # noqa: E402
from benchmark.results.table import ResultTable  # noqa: E402


def _family(base: str) -> str:
    """The registered family of a candidate's base (``post hoc`` for ensemble selection)."""
    try:
        spec = get_spec(str(base))
    except InputError:  # a user's own estimator
        return "user"
    return "post hoc" if spec.post_hoc else spec.family


def results_table(table: ResultTable) -> pd.DataFrame:
    lb = table.leaderboard().set_index("candidate")
    scores = table.to_block().T  # candidates × tasks, each task in its own metric
    scores.columns = [f"{t} ({table.task_metric(t)})" for t in scores.columns]
    out = lb[["mean_rank", "wins"]].join(scores)
    return out.sort_values("mean_rank")


def ensemble_vs_single(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    ok = df[df["state"] == "ok"]
    post_hoc = ok["base"].map(_family) == "post hoc"
    for (task, fold), grp in ok.groupby(["task", "fold"], sort=False):
        metric = get_metric(grp["metric"].iloc[0])
        ens = grp[post_hoc[grp.index]]
        single = grp[~post_hoc[grp.index] & grp["best_inner_score"].notna()]
        if ens.empty or single.empty:
            continue
        pick = single.loc[single["best_inner_score"].astype(float).map(metric.oriented).idxmax()]
        e, s = float(ens[f"test_{metric.name}"].iloc[0]), float(pick[f"test_{metric.name}"])
        rows.append({"task": task, "fold": fold, "metric": metric.name, "ensemble": e, "best_single": s,
                     "picked": pick["candidate"], "better_by": metric.oriented(e) - metric.oriented(s)})
    return pd.DataFrame(rows)


def summarise(pairs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for task, grp in pairs.groupby("task", sort=False):
        out.append({"task": task, "metric": grp["metric"].iloc[0], "ensemble": grp["ensemble"].mean(), "best_single": grp["best_single"].mean(),
                    "better_by": grp["better_by"].mean(), "won": int((grp["better_by"] > 1e-12).sum()),
                    "tied": int((grp["better_by"].abs() <= 1e-12).sum()), "lost": int((grp["better_by"] < -1e-12).sum()),
                    "picked": ", ".join(sorted(set(grp["picked"])))})
    return pd.DataFrame(out)


def net_ranks(table: ResultTable) -> dict[str, tuple[float, float]]:
    """Mean rank of each net among all candidates and among the single models (the leaderboard's
    ranks on the table cut to candidates whose family is neither ``ensemble`` nor post hoc)."""
    families = table.df.drop_duplicates("candidate").set_index("candidate")["base"].map(_family)
    singles = [c for c in table.candidates if families.get(c) not in ("ensemble", "post hoc")]
    single_table = replace(table, df=table.df[table.df["candidate"].isin(singles)], candidates=singles)
    ranks_all = table.leaderboard().set_index("candidate")["mean_rank"]
    ranks_single = single_table.leaderboard().set_index("candidate")["mean_rank"]
    nets = [c for c in table.candidates if families.get(c) == "neural"]
    return {n: (float(ranks_all[n]), float(ranks_single[n])) for n in nets}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    args = ap.parse_args(argv)
    run = Path(args.run_dir)
    table = ResultTable.from_run(run)
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4g}".format):
        n_tasks, n_cands = table.df["task"].nunique(), table.df["candidate"].nunique()
        print(f"# {run}: {n_tasks} tasks, {n_cands} candidates, {len(table.df)} jobs ({int((table.df['state'] != 'ok').sum())} not ok)\n")
        print("## Results table (mean rank over tasks; mean outer-test score per task)\n")
        print(results_table(table).to_string())
        pairs = ensemble_vs_single(table.df)
        if not pairs.empty:
            summary = summarise(pairs)
            print("\n## ensemble_selection against the best single candidate by inner score, outer test folds\n")
            print(summary.to_string(index=False))
            print(f"\nall folds: ensemble won {int((pairs['better_by'] > 1e-12).sum())}, tied {int((pairs['better_by'].abs() <= 1e-12).sum())}, "
                  f"lost {int((pairs['better_by'] < -1e-12).sum())} of {len(pairs)}; "
                  f"tasks where the mean is better: {int((summary['better_by'] > 1e-12).sum())} of {len(summary)}; "
                  f"median relative difference (oriented: + is better) {np.median(pairs['better_by'] / pairs['best_single'].abs()) * 100:+.2f}%")
        print("\n## Nets: mean rank among all candidates / among the single models (no ensembles)\n")
        for name, (all_, single) in net_ranks(table).items():
            print(f"{name:10s} {all_:5.2f} / {single:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
