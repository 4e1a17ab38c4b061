"""The report's views of a ``final: bag`` run that need no fit: default / tuned / tuned +
ensembled per candidate and the outer-test score over random trial orders (renders only; the
numbers are :func:`benchmark.report.curves.variant_summary` and
:func:`benchmark.report.curves.shuffled_test_curves`, kept on the :class:`Analysis`)."""

from __future__ import annotations

from collections.abc import Mapping

from benchmark.report.analysis import Analysis
from benchmark.report.markup import cand_cell, esc, finite, num, table
from benchmark.report.palette import Style

Styles = Mapping[str, Style]


def bag_views(a: Analysis, styles: Styles) -> str:
    """Default / tuned / tuned + ensembled and the test score over random trial orders (final: bag runs)."""
    out = []
    if not a.variants.empty:
        rows = [[cand_cell(r.candidate, styles.get(r.candidate)), esc(str(r.variant).replace("_", " + ")), num(r.mean_rank, 2),
                 num(r.normalised, 3), num(r.n_tasks, 0)] for r in a.variants.itertuples()]
        out.append("<details><summary>Default, tuned and tuned + ensembled per candidate (from stored predictions, no refit)</summary>"
                   '<p class="note">As TabArena reports them: default = trial 1 (the default configuration), tuned = the chosen trial, '
                   "tuned + ensembled = greedy ensemble selection over the candidate's own trials on their out-of-fold predictions; each is "
                   "the average of its inner-fold models' predictions on the outer test fold. Every (candidate, variant) is ranked per task "
                   "among all of them (normalised: 1 = best, 0 = worst on the task), averaged over tasks.</p>"
                   + table(["candidate", "variant", "mean rank", "normalised", "tasks"], rows, sortable=True) + "</details>")
    if not a.test_orders.empty:
        tc = a.test_orders
        marks = [b for b in (1, 2, 5, 10, 20, 50, 100, 200, 500) if b < tc["trial"].max()] + [int(tc["trial"].max())]
        rows = []
        for (task, cand), g in tc.groupby(["task", "candidate"], sort=False):
            at = g.set_index("trial")
            rows.append([esc(task), cand_cell(cand, styles.get(cand))]
                        + [{"text": f"{at.loc[b, 'mean']:.4g} <span class=\"sd\">[{at.loc[b, 'lo']:.4g}, {at.loc[b, 'hi']:.4g}]</span>"
                            if b in at.index and finite(at.loc[b, "mean"]) else "–", "sort": repr(float(at.loc[b, "mean"])) if b in at.index else ""}
                           for b in marks])
        out.append("<details><summary>Outer-test score after b trials over 20 random trial orders (mean [10th, 90th percentile])</summary>"
                   '<p class="note">For each order the tuner\'s choice after b trials (best inner score) is scored by its stored test prediction; '
                   "per order the mean over outer folds, then the mean and band over the orders. No fit is made for this view.</p>"
                   + table(["task", "candidate"] + [f"{b} trial{'s' if b > 1 else ''}" for b in marks], rows, sortable=True) + "</details>")
    return "".join(out)
