"""Report parts that say how far the numbers can be trusted: arena ratings (Elo with CIs), the
accuracy–cost trade-off, overtuning, power (minimum detectable effects next to verdicts) and the
sensitivity of the ranking to the missing-result policy.  Render only: every number comes from
:class:`benchmark.report.analysis.Analysis` (and its helpers in ``arena``, ``diagnostics``, ``power``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from benchmark.report import figures
from benchmark.report.analysis import Analysis
from benchmark.report.arena import RIDGE
from benchmark.report.audit import (
    curve_failures,
    failure_groups,
    missing_by_pair,
    most_common,
    trial_failures,
)
from benchmark.report.markup import cand_cell, esc, figure, finite, fmt, num, p_eq, swatch, table
from benchmark.report.palette import Style
from benchmark.report.power import POWER

Styles = Mapping[str, Style]
LOW_POWER = "⚠ low power"
#: A "not significant" verdict is flagged when the observed gap is at least this share of the
#: minimum detectable effect: a gap the design could not have seen, yet not a negligible one.
FLAG_SHARE = 0.25


def post_hoc_tag(a: Analysis, c: str) -> str:
    """A small tag after a post-hoc candidate's name (empty for the others)."""
    return ' <span class="tag" title="built after tuning from every other candidate\'s trials: not an equal-budget rival">post hoc</span>' if c in a.post_hoc else ""


def mde_text(v: float, units: str) -> str:
    return "no difference at all" if not math.isfinite(v) else f"differences below {v:.3g} {units}"


def across_power_note(a: Analysis) -> str:
    """One sentence: the smallest leader-vs-candidate difference the across-task test detects."""
    if a.rank is None:
        return ""
    units = "normalised points" if a.test_block_kind == "normalised" else esc(a.raw_metric)
    k = len(a.rank.candidates)
    return (f'<p class="note power">Power: with {a.rank.n_datasets} tasks and Holm over {k * (k - 1) // 2} pairs (α = {a.alpha:g}), '
            f"{mde_text(a.mde_across, units)} can be detected with {POWER:.0%} power by the Wilcoxon test "
            "(simulated at the observed sd of the leader's differences). A “not significant” below it means “not measured”, "
            "not “equal”. How to buy power (more tasks first, then repeats and folds): <code>docs/statistics.md</code>.</p>")


def task_power_note(a: Analysis, task: str) -> str:
    v = a.mde_per_task.get(task)
    if v is None:
        return ""
    k = max(2, len(a.per_task.get(task, {}).get(a.metrics.get(task, ""), [])))
    return (f'<p class="note power">Power: with {a.n_folds} outer folds and Holm over {k - 1} comparisons with the best (α = {a.alpha:g}), '
            f"{mde_text(v, esc(a.metrics.get(task, '')))} cannot be detected with {POWER:.0%} power (corrected t-test, median observed fold sd). "
            f"Cells marked {LOW_POWER} are “not significantly worse” although their gap to the best is at least a quarter of that: "
            "the design cannot tell, so read them as “not measured”, not as “as good”.</p>")


def low_power(a: Analysis, task: str, diff: float) -> bool:
    """Whether a "not significantly worse" verdict on ``task`` is one the design cannot support:
    the observed gap to the best is at least :data:`FLAG_SHARE` of the minimum detectable effect, or nothing is detectable."""
    v = a.mde_per_task.get(task)
    return v is not None and (not math.isfinite(v) or (finite(diff) and abs(diff) >= FLAG_SHARE * v))


def single_task_certainty(a: Analysis, leader: str) -> str:
    """How sure the single-task leader is: the corrected t-test against the runner-up, and power."""
    cmp = a.per_task.get(a.tasks[0], {}).get(a.metrics.get(a.tasks[0], ""))
    if cmp is None or len(cmp) < 2:
        return "best mean score on the only task; not tested (a fold is missing or failed)"
    runner = cmp.index[1]
    row = cmp.loc[runner]
    sig = bool(row["worse"])
    text = (f"best mean score on the only task · {'significantly' if sig else '<b>not</b> significantly'} better than {esc(runner)} "
            f"(corrected t-test over {a.n_folds} folds, Holm {p_eq(row['p_holm'])})")
    v = a.mde_per_task.get(a.tasks[0])
    if not sig and v is not None:
        text += f"; {mde_text(v, esc(a.metrics[a.tasks[0]]))} cannot be detected with this design"
    return text


def data_text(a: Analysis) -> str:
    info = a.table.tasks.get(a.tasks[0], {})
    miss = info.get("n_missing")
    miss_txt = "missing values: not recorded" if miss is None else ("no missing values" if not miss else f"{fmt(miss)} missing values (imputed inside each fold)")
    return f"{fmt(info.get('n_rows'))} rows × {fmt(info.get('n_features'))} features · {miss_txt}"


def low_power_p(a: Analysis, leader: str, c: str, pcell: dict[str, Any]) -> dict[str, Any]:
    """The p vs leader cell, marked when it is not significant and the design cannot detect the gap."""
    pr = a.pair(leader, c)
    if pr is None or pr["reject"] or a.rank is None:
        return pcell
    gap = float((a.test_block[leader] - a.test_block[c]).mean()) if leader in a.test_block and c in a.test_block else math.nan
    v = a.mde_across
    if math.isfinite(v) and not (finite(gap) and abs(gap) >= FLAG_SHARE * v):
        return pcell
    pcell = dict(pcell)
    pcell["text"] += f' <span class="lowpower" title="the design cannot detect this gap: {mde_text(v, "units")} are not detectable">⚠</span>'
    return pcell


# ---------------------------------------------------------------------------------------------
# Arena


def arena(a: Analysis, styles: Styles) -> str:
    at = a.arena
    if at is None:
        return ""
    rows = []
    for r in at.frame.itertuples():
        c = r.candidate
        elo_txt = f"{r.elo:.0f}" + (f' <span class="sd">[{r.elo_low:.0f}, {r.elo_high:.0f}]</span>' if finite(r.elo_low) else "")
        if r.never_won:
            elo_txt += ' <span class="sd" title="it lost every comparison: its rating only says “below everyone”, and its value is set by the ridge">(never won)</span>'
        imp_txt = (f"{100 * r.improvability:.1f} %" + (f' <span class="sd">[{100 * r.improvability_low:.1f}, {100 * r.improvability_high:.1f}]</span>'
                                                      if finite(r.improvability_low) else "")) if finite(r.improvability) else "–"
        name = cand_cell(c, styles.get(c))
        name["text"] += post_hoc_tag(a, c) + (" (reference)" if c == at.reference else "")
        rows.append([name, num(r.elo, text=elo_txt), num(r.win_rate, text=f"{100 * r.win_rate:.1f} %" if finite(r.win_rate) else "–"),
                     num(r.improvability, text=imp_txt), num(r.harmonic_mean_rank, 2, text=f"{r.harmonic_mean_rank:.2f}")])
    header = ["candidate", ("Elo [95 % CI]" if at.n_boot else "Elo", f"Bradley–Terry fit on every (task, fold) pair; CI: bootstrap over tasks ({at.n_boot} resamples)"),
              ("win rate", "share of pairwise (task, fold) comparisons won; ties count half"),
              ("improvability [95 % CI]" if at.n_boot else "improvability", "mean over tasks of (error − best error) / error: how much of its error switching to the best would remove; 0 = best"),
              ("harmonic mean rank", "tasks / Σ 1/rank: rewards being first somewhere")]
    note = (f'<p class="note">Elo as TabArena computes it: a Bradley–Terry maximum-likelihood fit on the pairwise outcomes of every '
            f"(task, outer fold) — higher test score wins, equal scores tie (half a win each), a failed or missing job loses — with a "
            f"vanishing ridge ({RIDGE:g} on the log strengths) so that a candidate that never wins stays finite. "
            f"<b>{esc(at.reference)} is anchored at 1000</b>; 400 points = 10:1 odds. "
            + (f"95 % intervals: percentile bootstrap over the {at.n_tasks} tasks ({at.n_boot} resamples)"
               f"{' — with this few tasks they are wide and coarse' if at.n_tasks < 5 else ''}. " if at.n_boot
               else "No intervals: they are a bootstrap over tasks and need at least two. ")
            + "Errors for improvability: 1 − score for AUC, accuracy and R², the metric itself for losses; a task where the best "
            "error is 0 (e.g. an AUC of 1) is left out, since every other gap there would read 100 %.</p>")
    return "<h3>Elo, win rate, improvability</h3>" + note + table(header, rows, sortable=True, cls="arena", attrs=' id="arena-table"')


# ---------------------------------------------------------------------------------------------
# Trade-off


def tradeoff(a: Analysis, styles: Styles) -> str:
    df = a.tradeoff
    if df.empty:
        return '<p class="note">No completed jobs yet.</p>'
    label = a.tradeoff_label
    fig = ""
    try:
        fig = figure(figures.tradeoff_figure(df, styles, score_label=label),
                     f"<b>Accuracy against cost.</b> Left: {esc(label)} against the median seconds of the final refit; right: against the "
                     "median prediction time per 1,000 rows (log scales). Ringed and joined: the Pareto front — nothing else is both "
                     "better and cheaper. Reading left to right along the front shows what each step down in latency costs in accuracy.",
                     name="tradeoff", wide=True)
    except Exception as exc:
        fig = f'<p class="note">The trade-off figure could not be drawn: {esc(exc)}</p>'
    rows = []
    for r in df.itertuples():
        c = r.candidate
        name = cand_cell(c, styles.get(c))
        name["text"] += post_hoc_tag(a, c)
        mark = lambda p: {"text": "◆" if p else "", "sort": "1" if p else "0", "cls": "grp"}  # noqa: E731
        rows.append([name, num(r.score, 3, text=f"{r.score:.3f}" if finite(r.score) else "–"), num(r.train_seconds, text=_sig(r.train_seconds)),
                     mark(r.pareto_train), num(r.predict_ms_per_1k, text=_sig(r.predict_ms_per_1k)), mark(r.pareto_predict),
                     num(r.model_bytes, text=_bytes(r.model_bytes))])
    header = ["candidate", (label, "the leaderboard's score"), ("train s", "median over jobs of the final refit's wall seconds"),
              ("front (train)", "Pareto-optimal for score vs training time"), ("predict ms / 1k rows", "median over jobs of the prediction time per 1,000 rows"),
              ("front (predict)", "Pareto-optimal for score vs prediction time"), ("model size", "median pickled size of the refitted model")]
    return fig + table(header, rows, sortable=True, cls="tradeoff", attrs=' id="tradeoff-table"')


def _sig(v: float) -> str:
    return f"{v:.3g}" if finite(v) else "–"


def _bytes(v: float) -> str:
    if not finite(v):
        return "–"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if v >= size:
            return f"{v / size:.1f} {unit}"
    return f"{v:.0f} B"


# ---------------------------------------------------------------------------------------------
# Overtuning


def overtuning(a: Analysis, styles: Styles) -> str:
    df = a.overtuning
    if df.empty:
        return ""
    rows = []
    for r in df.itertuples():
        rows.append([cand_cell(r.candidate, styles.get(r.candidate)), num(r.jobs, 0),
                     num(r.worse_than_default, text=f"{100 * r.worse_than_default:.0f} %" if finite(r.worse_than_default) else "–",
                         cls="warn" if finite(r.worse_than_default) and r.worse_than_default > 0.5 else ""),
                     num(r.inner_test_gap, text=f"{100 * r.inner_test_gap:+.1f} %" if finite(r.inner_test_gap) else "–")])
    header = ["candidate", ("jobs", "tuned jobs with the default's test score on record"),
              ("tuned worse than default", "share of (task, fold) where the tuned configuration scored worse on the outer test fold than the default"),
              ("inner − test gap", "mean over jobs of (test error − best inner-validation error) / test error; positive = the inner score was optimistic")]
    return ("<h3>Overtuning</h3><p class=\"note\">From the stored records: the default's outer-test score is the budget curve's "
            "one-trial point; the gap compares errors (1 − score for AUC, accuracy, R²; the loss itself otherwise) relative to the test error, "
            "so that tasks in different units average. Tuning that often loses to the defaults on test, or a large positive gap, means the search fitted the "
            "inner validation folds rather than the data (validation overfitting).</p>" + table(header, rows, sortable=True, cls="overtuning"))


# ---------------------------------------------------------------------------------------------
# Failure-policy sensitivity


def sensitivity(a: Analysis, styles: Styles) -> str:
    sv = a.sensitivity
    if sv is None:
        return ""
    policies = list(sv.ranks.columns)
    rows = [[cand_cell(c, styles.get(c))] + [num(sv.ranks.loc[c, p], 2, text=f"{sv.ranks.loc[c, p]:.2f}" if finite(sv.ranks.loc[c, p]) else "–")
                                             for p in policies] for c in sv.ranks.index]
    verdict = ("⚠ The leader changes with the policy: " + ", ".join(f"{esc(p)} → <b>{esc(c)}</b>" for p, c in sv.leaders.items())
               if sv.leader_changes else f"✔ The leader, <b>{esc(next(iter(sv.leaders.values()), '–'))}</b>, is the same under every policy")
    verdict += ("; ⚠ the set of significant pairs changes." if sv.pairs_change else "; the significant pairs are the same.")
    notes = "".join(f'<p class="note">Policy {esc(p)} not computed: {esc(m)}</p>' for p, m in sv.notes.items())
    return ("<h3>Does the ranking depend on how failures count?</h3>"
            f'<p class="note">Mean ranks under each missing-result policy: drop = tasks with a missing result are left out; last = it ranks '
            f"last on its task (the report's policy); baseline = it takes {esc(sv.baseline)}'s score.</p><p>{verdict}</p>{notes}"
            + table(["candidate"] + [(p, "") for p in policies], rows, sortable=True, cls="sensitivity"))


def post_hoc_gain(a: Analysis, c: str) -> str:
    """The post-hoc candidate ``c``'s gain over the equal-budget leader and its Wilcoxon–Holm test (HTML)."""
    eq = a.equal_budget_leader
    if eq is None or c == eq:
        return ""
    pr = a.pair(c, eq)
    gain = ""
    if a.rank is not None and c in a.test_block and eq in a.test_block:
        d = (a.test_block[c] - a.test_block[eq]).dropna()
        gain = f"mean gain {d.mean():+.3f} {'normalised' if a.test_block_kind == 'normalised' else esc(a.raw_metric)}"
    if pr is None:
        return gain or "not tested (needs two tasks)"
    w, l_ = (pr["wins"], pr["losses"]) if pr["better"] == c else (pr["losses"], pr["wins"])
    return (f"{gain}, W/T/L {w}/{pr['ties']}/{l_} over tasks, Wilcoxon–Holm {p_eq(pr['p_holm'])}"
            f"{'' if pr['reject'] else ', not significant'}")


def post_hoc_verdict(a: Analysis) -> str:
    """The leader card's line when a post-hoc ensemble leads: the equal-budget leader and the test of the gain."""
    lead, eq = a.leader, a.equal_budget_leader
    if lead is None or lead not in a.post_hoc or eq is None:
        return ""
    return (f"<br><b>post hoc</b>: it spends every candidate's budget. Equal-budget leader: <b>{esc(eq)}</b>; "
            f"the ensemble's gain over it: {post_hoc_gain(a, lead)}.")


def fmt_seconds(s: float) -> str:
    if not finite(s):
        return "–"
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


# ---------------------------------------------------------------------------------------------
# 7. Failures


def failures(a: Analysis, styles: Styles) -> str:
    out = ['<p class="note">Missing-results policy: a failed or missing job ranks <b>last</b> on its task in every ranking '
           "(stats.rank(missing=\"last\")); per-task tests against the best use only candidates with a score on every outer fold; "
           "mean scores use the completed folds.</p>"]
    failed = a.failed_jobs
    if failed:
        groups = failure_groups(failed)
        items = []
        for (cand, error), rs in list(groups.items())[:100]:
            where = ", ".join(f"{esc(r.get('task'))} fold {esc(r.get('fold'))}" for r in rs[:30]) + (f" and {len(rs) - 30} more" if len(rs) > 30 else "")
            items.append(f"<details><summary>{swatch(styles.get(cand))}<b>{esc(cand)}</b> — {len(rs)} job{'s' if len(rs) > 1 else ''}: "
                         f"<span class=\"err\">{esc(error)}</span></summary><p class=\"where\">Where: {where}</p>"
                         f"<pre>{esc(rs[0].get('traceback', ''))}</pre></details>")
        more = f"<p>… and {len(groups) - 100} more kinds of failure in records.jsonl.</p>" if len(groups) > 100 else ""
        out.append(f"<h3>Failed jobs ({len(failed)})</h3><p class=\"note\">Grouped by candidate and error; open one for where it happened and the traceback of the first. "
                   "The tag says why: [model] the fit raised, [timeout] a fit overran the suite's timeout, [crash] the worker process died, "
                   "[infrastructure] the worker could not run the job or send its record.</p>"
                   + "".join(items) + more)
    else:
        out.append("<p>No job failed.</p>")
    out.append(sensitivity(a, styles))
    trial_fail = trial_failures(a.jobs)
    if trial_fail:
        rows = [[cand_cell(c, styles.get(c)), num(len(errs), 0), {"text": esc(_top(errs)), "cls": "text"}] for c, errs in trial_fail.items()]
        out.append("<h3>Failed tuning trials</h3><p class=\"note\">A failed trial counts against the candidate's budget; the job goes on with the other trials.</p>"
                   + table(["candidate", "failed trials", ("most common error", "", "text")], rows, sortable=True))
    curve_fail = curve_failures(a.jobs)
    if curve_fail:
        rows = [[cand_cell(c, styles.get(c)), {"text": esc(k), "cls": "text"}, num(len(v), 0), {"text": esc(_top(v)), "cls": "text"}] for (c, k), v in curve_fail.items()]
        out.append("<h3>Curve points not fitted</h3><p class=\"note\">These never fail a job; the curves simply lack the points.</p>"
                   + table(["candidate", ("curve", "", "text"), "points", ("most common reason", "", "text")], rows, sortable=True))
    if a.missing_jobs:
        by = missing_by_pair(a.missing_jobs)
        rows = [[{"text": esc(t)}, cand_cell(c, styles.get(c)), {"text": ", ".join(map(str, ks)), "sort": repr(len(ks)), "cls": "text"}] for (t, c), ks in by.items()]
        out.append(f"<h3>Missing results ({len(a.missing_jobs)} of {a.expected_jobs} jobs)</h3>"
                   "<p class=\"note\">The run is incomplete: these jobs have no record yet. Continue it with <code>bench run SUITE --resume --out RUN_DIR</code>; "
                   "the report can be rebuilt at any time with <code>bench report RUN_DIR</code>.</p>"
                   + table(["task", ("candidate", "", "text"), ("missing outer folds", "", "text")], rows, sortable=True))
    return "".join(out)


def _top(errors: list[str]) -> str:
    msg, n = most_common(errors)
    return f"{msg[:240]} (×{n})" if n > 1 else msg[:240]
