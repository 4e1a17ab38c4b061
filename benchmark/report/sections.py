"""The report's sections, each a function ``(Analysis, styles) -> HTML``.

Order on the page: summary, leaderboard, significance, data and budget (suite-level curves),
per task, fairness audit, failures, provenance.  Each section says how its numbers were computed
in a short note, so a reader never has to guess which test or which block was used.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from benchmark.metrics import direction_text, greater_is_better
from benchmark.report import diagnostic_sections as diag
from benchmark.report import figures
from benchmark.report.analysis import Analysis, Spread
from benchmark.report.audit import (
    Audit,
    PostHocGain,
)
from benchmark.report.bag_views import bag_views
from benchmark.report.conclusions import conclusions
from benchmark.report.markup import (
    cand_cell,
    esc,
    figure,
    finite,
    fmt,
    kv,
    num,
    p_eq,
    p_fmt,
    p_text,
    score_fmt,
    sd_fmt,
    swatch,
    table,
)
from benchmark.report.palette import Style

log = logging.getLogger(__name__)

Styles = Mapping[str, Style]


def _safe_figure(make: Callable[[], str], caption: str, *, name: str, wide: bool = False) -> str:
    """A figure, or a one-line note when drawing it failed (the report must still render)."""
    try:
        return figure(make(), caption, name=name, wide=wide)
    except Exception as exc:
        log.warning("figure %s could not be drawn: %s", name, exc)
        return f'<p class="note">Figure “{esc(name)}” could not be drawn: {esc(exc)}</p>'


# ---------------------------------------------------------------------------------------------
# 1. Summary


def summary(a: Analysis, styles: Styles) -> str:
    s = a.manifest.get("suite", {})
    inner = s.get("inner")
    inner_txt = f"holdout {inner:g}" if isinstance(inner, float) else f"{inner} inner folds"
    n_failed = len(a.failed_jobs)
    leader = a.leader
    ranks = a.mean_ranks()
    if leader is None:
        lead_v, lead_s = "–", "no results yet"
    else:
        lead_v = f"{swatch(styles.get(leader))}{esc(leader)}"
        lead_s = f"mean rank {ranks.get(leader, math.nan):.2f}"
        order = list(ranks)
        tied = a.tied_leaders()
        if len(tied) > 1:
            lead_v = " = ".join(f"{swatch(styles.get(c))}{esc(c)}" for c in tied[:3]) + (" …" if len(tied) > 3 else "")
            lead_s = f"{len(tied)} candidates share the best mean rank, {ranks[leader]:.2f}"
        elif a.rank is not None and len(order) > 1:
            pr = a.pair(leader, order[1])
            sig = pr is not None and pr["reject"] and pr["better"] == leader
            lead_s += f" · {'significantly' if sig else '<b>not</b> significantly'} better than {esc(order[1])} (Wilcoxon–Holm {p_eq(pr['p_holm'] if pr else None)})"
        elif len(a.tasks) == 1:
            lead_s = diag.single_task_certainty(a, leader)
        lead_v += diag.post_hoc_tag(a, leader)
        lead_s += diag.post_hoc_verdict(a)
    metrics = sorted(set(a.metrics.values()))
    status = f"{a.n_ok} of {a.expected_jobs} jobs" + (f" · {n_failed} failed" if n_failed else "") + (" · <b>incomplete</b>" if a.missing_jobs else "")
    budget = f"{esc(s.get('trials'))} trials" + (f", ≤ {fmt(s.get('seconds'))} s" if s.get("seconds") else "")
    kinds = esc(", ".join(sorted({str(t.get('kind')) for t in a.table.tasks.values()})))
    cards = [
        ("Leader", lead_v, lead_s),
        ("Task" if len(a.tasks) == 1 else "Tasks", esc(a.tasks[0]) if len(a.tasks) == 1 else str(len(a.tasks)),
         kinds + (f" · {diag.data_text(a)}" if len(a.tasks) == 1 else "")),
        ("Candidates", str(len(a.candidates)), "every one with the same budget and folds" + (" (one configuration where there is nothing to tune)" if a.audit.one_config else "")),
        ("Budget", budget, f"per candidate per outer fold · {esc(inner_txt)} · {esc(s.get('sampler', 'tpe'))} sampler, trial 0 (the first) = defaults"),
        ("Outer folds", str(a.n_folds), f"{esc(s.get('folds'))} folds × {esc(s.get('repeats', 1))} repeat(s), shared by all candidates"),
        ("Metric", esc(", ".join(metrics)), "drives tuning and ranking; every applicable metric is recorded"),
        ("Jobs", status, "task × candidate × outer fold" + (f" · took {diag.fmt_seconds(a.duration)}" if finite(a.duration) else "")),
    ]
    html_cards = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div><div class="s">{sub}</div></div>' for k, v, sub in cards)
    items = "".join(f"<li>{c}</li>" for c in conclusions(a))
    return (f'<div class="cards">{html_cards}</div>'
            f'<h3>Conclusions</h3><ul class="conclusions">{items}</ul>'
            '<p class="note">Generated from the tests reported below; statements marked descriptive are not tested. '
            f"Significance level α = {a.alpha:g} throughout.</p>")


# ---------------------------------------------------------------------------------------------
# 2. Leaderboard


def leaderboard(a: Analysis, styles: Styles) -> str:
    lines = a.leaderboard_rows
    if not lines:
        return '<p class="note">No completed jobs yet.</p>'
    leader = lines[0].candidate
    groups = a.groups()
    single = len(a.tasks) == 1
    elo = a.arena.frame.set_index("candidate") if a.arena is not None else None
    show_raw = a.show_raw  # a mean in metric units only where it means something
    rows = []
    for pos, line in enumerate(lines, 1):
        c, r = line.candidate, line.mean_rank
        wtl, pcell = _vs_leader(a, leader, c)
        nv = line.normalised
        ncell = num(nv.mean, 3, text=(f"{nv.mean:.3f}" + (f" ± {nv.sd:.3f}" if nv.n > 1 else "")) if nv.n else "–")
        name = cand_cell(c, styles.get(c))
        name["text"] += diag.post_hoc_tag(a, c)
        row = [num(pos, 0), name, num(r, 2, text=f"{r:.2f}"), {"text": esc(groups.get(c, "")), "sort": groups.get(c, ""), "cls": "grp"},
               num(line.tasks_won, 0)]
        if not single:
            row += [wtl, diag.low_power_p(a, leader, c, pcell)]
        if elo is not None:
            e = elo.loc[c]
            row.append(num(e.elo, text=f"{e.elo:.0f}" + (f' <span class="sd">[{e.elo_low:.0f}, {e.elo_high:.0f}]</span>' if finite(e.elo_low) else "")))
        if not single:
            row.append(ncell)
        if line.raw is not None:
            v = line.raw
            row.append(num(v.mean, text=(f"{score_fmt(v.mean)} ± {sd_fmt(v.sd)}" if v.n > 1 else score_fmt(v.mean))))
        row.append(num(line.n_failed, 0, cls="fail" if line.n_failed else ""))
        rows.append(row)
    header: list[Any] = ["#", ("candidate", "", "text"), ("mean rank", "average over tasks of the rank on each task (1 = best)"),
                         ("group", "candidates sharing a letter are not significantly different (Nemenyi)" if a.rank is not None else "per-task test against the best"),
                         ("tasks won", "tasks on which the candidate ranked first")]
    if not single:
        header += [("W / T / L vs leader", "tasks won / tied / lost against the leader"),
                   ("p vs leader", "Wilcoxon signed-rank test against the leader across tasks, Holm-corrected over all pairs; * = significant")]
    if elo is not None:
        header.append((f"Elo{' [95 % CI]' if a.arena.n_boot else ''} ({a.arena.reference} = 1000)", "Bradley–Terry on every (task, fold) pair; see the table below"))
    if not single:  # with one task 0 … 1 would stretch any gap, however small, to the whole scale
        header.append(("normalised score", "per task 0 = the worst candidate's mean, 1 = the best's; mean ± sd over tasks"))
    if show_raw:
        m = a.raw_metric
        header.append((f"{m} (mean ± sd)", ("over outer folds" if single else "mean over tasks ± sd over tasks") + f"; {direction_text(m)}"))
    header.append("failed jobs")
    if a.rank is not None:
        grp_note = (f"<b>Group</b>: candidates sharing a letter are not significantly different by the Nemenyi test (critical difference "
                    f"{a.rank.nemenyi.cd:.2f} ranks at α = {a.alpha:g}).")
    elif single:
        grp_note = "<b>Group</b>: best, ≈ best (not significantly worse: corrected resampled t-test, Holm) or worse, on the tuning metric."
    else:
        grp_note = f"No significance groups: {esc(a.rank_note)}."
    basis = ("the tuning metric" if show_raw else "each task's tuning metric (no mean in metric units: "
             + ("the tasks use different metrics)" if not a.one_metric else "it is in each task's own units)"))
    note = (f'<p class="note">Ranked on {basis}; ties share the average rank and a missing or failed result ranks last on its task. '
            f"{grp_note} W / T / L and p are against the leader, {esc(leader)}. Click a column header to sort.</p>")
    ph = ""
    if a.post_hoc:
        eq = a.equal_budget_leader
        ph = (f'<p class="note"><b>post hoc</b> marks {", ".join(esc(c) for c in a.post_hoc)}: built after tuning from every other candidate\'s '
              f"trials, so it spent their budgets together and is not an equal-budget rival. The equal-budget leader is <b>{esc(eq or '–')}</b>"
              + "".join(f"; {esc(c)}'s gain over it: {diag.post_hoc_gain(a, c)}" for c in a.post_hoc if eq and c != eq) + ".</p>")
    return (note + ph + table(header, rows, sortable=True, cls="leaderboard", attrs=' id="leaderboard-table"')
            + diag.across_power_note(a) + diag.arena(a, styles))


def _vs_leader(a: Analysis, leader: str, c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The W / T / L and p cells of ``c`` against the leader (from ``c``'s side)."""
    if c == leader:
        return {"text": "—", "sort": ""}, {"text": "—", "sort": ""}
    pr = a.pair(leader, c)
    if pr is None:
        return {"text": "–", "sort": ""}, {"text": "–", "sort": ""}
    w, t, l_ = pr["losses"], pr["ties"], pr["wins"]  # from c's side
    return ({"text": f"{w} / {t} / {l_}", "sort": repr(w - l_)},
            num(pr["p_holm"], text=p_fmt(pr["p_holm"]) + (" *" if pr["reject"] else ""), cls="sig" if pr["reject"] else ""))


# ---------------------------------------------------------------------------------------------
# 3. Significance


def significance(a: Analysis, styles: Styles) -> str:
    if a.rank is None:
        extra = ""
        if len(a.tasks) == 1:
            extra = " With a single task, see the per-task table: candidates are tested against the best over the outer folds (corrected resampled t-test)."
        return f'<p class="note">No tests across tasks: {esc(a.rank_note)}.{extra}</p>'
    r = a.rank
    from benchmark.report.cd_diagram import cd_diagram

    basis = (f"<b>normalised scores</b> (per task, 0 = worst and 1 = best candidate) because {esc(a.test_block_reason)}; "
             "ranks are the same as on the raw scores"
             if a.test_block_kind == "normalised" else f"the mean test {esc(next(iter(a.metrics.values()), ''))} per task")
    dropped = f" Dropped (no result at all): {esc(', '.join(r.dropped_datasets))}." if r.dropped_datasets else ""
    text = (f"<p>Across <b>{r.n_datasets}</b> tasks and {r.n_candidates} candidates, on {basis}: "
            f"Friedman χ² = {fmt(r.friedman.statistic, 3)} (df {r.friedman.df}), {p_eq(r.friedman.p_value)}; "
            f"Iman–Davenport F = {fmt(r.iman_davenport.statistic, 3) if finite(r.iman_davenport.statistic) else '∞'}, {p_eq(r.iman_davenport.p_value)}. "
            f"Nemenyi critical difference at α = {a.alpha:g}: <b>{r.nemenyi.cd:.2f}</b> ranks. "
            f"Missing results: policy “{esc(r.missing)}” — a missing or failed result ranks last on its task.{dropped}</p>")
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in r.notes)
    colours = {c: s.colour for c, s in styles.items()}
    cd = _safe_figure(lambda: cd_diagram(r, colours=colours),
                      "Critical-difference diagram (Demšar 2006): mean rank over tasks (1 = best, left). Candidates joined by a grey bar "
                      "are not significantly different by the Nemenyi test; the bar at the top is the critical difference.",
                      name="cd-diagram")
    n_sig = sum(p.reject for p in r.pairwise)
    if n_sig == 0:  # a k × k grid of non-significant p-values says nothing a sentence cannot
        hm = (f"<h3>Pairwise Wilcoxon signed-rank tests, Holm-corrected</h3><p><b>No pair of candidates differs significantly</b> "
              f"(all {len(r.pairwise)} Holm-adjusted p-values ≥ α = {a.alpha:g}), so the heat map is left out: the table below lists "
              "every pair. This says the design could not separate them, not that they are equal (see the power note).</p>")
    else:
        hm = _heatmap(a, styles)
    return text + notes + diag.across_power_note(a) + cd + hm + _pairwise_details(a, styles)


def _cell_colour(p: float, row_better: bool) -> tuple[str, str]:
    """Background and text colour: blue = the row is better, orange = the column is; stronger = smaller p."""
    strength = 0.0 if not finite(p) else min(1.0, max(0.0, -math.log10(max(float(p), 1e-12)) / 3.0))
    base = (0, 114, 178) if row_better else (230, 159, 0)
    t = 0.12 + 0.78 * strength
    rgb = tuple(round(255 + (b - 255) * t) for b in base)
    dark = row_better and t > 0.55
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})", "#fff" if dark else "#1d2329"


def _heatmap(a: Analysis, styles: Styles) -> str:
    r = a.rank
    order = r.candidates
    head = "".join(f'<th scope="col" class="vert"><span>{swatch(styles.get(c))}{esc(c)}</span></th>' for c in order)
    body = []
    for ra in order:
        cells = [f'<th scope="row" class="name">{swatch(styles.get(ra))}{esc(ra)}</th>']
        for cb in order:
            if ra == cb:
                cells.append('<td class="diag">—</td>')
                continue
            pr = a.pair(ra, cb)
            if pr is None:
                cells.append("<td>–</td>")
                continue
            row_better = pr["better"] == ra
            bg, fg = _cell_colour(pr["p_holm"], row_better)
            mark = "*" if pr["reject"] else ""
            title = (f"{ra} vs {cb}: {'row' if row_better else 'column'} ranks better; Wilcoxon p = {p_text(pr['p_value'], below='< 0.001')}, "
                     f"Holm p = {p_text(pr['p_holm'], below='< 0.001')}; {ra} wins/ties/losses {pr['wins']}/{pr['ties']}/{pr['losses']}")
            cells.append(f'<td style="background:{bg};color:{fg}" class="{"sig" if mark else ""}" title="{esc(title)}">{p_fmt(pr["p_holm"])}{mark}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    legend = ('<div class="hm-legend"><span class="chip" style="background:rgb(31,128,186)"></span> row candidate ranks better '
              '<span class="chip" style="background:rgb(232,169,31)"></span> column candidate ranks better · darker = smaller p · '
              "* = significant after Holm's correction</div>")
    return (f"<h3>Pairwise Wilcoxon signed-rank tests, Holm-corrected</h3>"
            f'<p class="note">Cell = Holm-adjusted p-value of the Wilcoxon signed-rank test over tasks for the row vs the column candidate '
            f"(on the same scores as above). Hover a cell for the raw p-value and wins/ties/losses.</p>"
            f'<div class="tablewrap"><table class="heatmap" data-figure-table="wilcoxon-holm"><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{legend}')


def _pairwise_details(a: Analysis, styles: Styles) -> str:
    rows = []
    for p in a.rank.pairwise:
        rows.append([cand_cell(p.a, styles.get(p.a)), cand_cell(p.b, styles.get(p.b)), num(p.rank_diff, 3), num(p.mean_diff, 4),
                     {"text": f"{p.wins} / {p.ties} / {p.losses}", "sort": repr(p.wins - p.losses)},
                     num(p.p_value, text=p_fmt(p.p_value)), num(p.p_holm, text=p_fmt(p.p_holm)),
                     {"text": "yes" if p.reject else "no", "cls": "sig" if p.reject else ""},
                     {"text": "yes" if p.nemenyi_significant else "no"}])
    n_sig = sum(p.reject for p in a.rank.pairwise)
    t = table(["A (better rank)", ("B", "", "text"), "rank diff", "mean diff (A − B)", "A: W / T / L", "Wilcoxon p", "Holm p", "Wilcoxon–Holm significant", "Nemenyi significant"],
              rows, sortable=True)
    return f"<details><summary>All {len(rows)} pairs as a table ({n_sig} significant by Wilcoxon–Holm)</summary>{t}</details>"


# ---------------------------------------------------------------------------------------------
# 4. Suite-level curves


def curves_overview(a: Analysis, styles: Styles) -> str:
    s = a.manifest.get("suite", {})
    parts = []
    if not a.lc_summary.empty and a.lc_summary["fraction"].nunique() >= 2:
        parts.append(_safe_figure(
            lambda: figures.learning_summary_figure(a.lc_summary, styles),
            "<b>Learning curves across the suite.</b> The tuned configuration refitted on nested, stratified subsamples of each outer "
            "training set and scored on the outer test fold; per task, mean scores are rescaled to 0 (worst candidate at any size) … "
            "1 (best), then averaged over tasks. A line still rising at 100 % suggests more data would help that model (descriptive).",
            name="learning-summary"))
    elif s.get("learning_curve") in ([], False):
        parts.append('<p class="note">Learning curves are off in this suite (<code>learning_curve: false</code>).</p>')
    else:
        parts.append('<p class="note">No learning-curve records in this run (runs made before learning curves existed have none).</p>')
    if not a.budget.empty and a.budget["budget"].nunique() >= 2:
        parts.append(_safe_figure(
            lambda: figures.budget_rank_figure(a.budget, styles),
            "<b>Ranking at smaller budgets.</b> For each budget b, every job's configuration with the best inner score after its first "
            "b trials was " + ("scored on the outer test fold by its stored bagged prediction (no refit)" if s.get("final") == "bag" else
                               "refitted on the outer training set and scored on the outer test fold") + "; the leaderboard's candidates are ranked "
            "per task on those scores and the ranks averaged. A post-hoc ensemble has no trials of its own: it enters every budget with its "
            "final score. At the full budget this is the leaderboard's mean rank. Flat lines: the conclusion does not depend on the budget.",
            name="budget-ranks"))
        piv = a.budget_rank_table
        rows = [[cand_cell(c, styles.get(c))] + [num(v, 2, text=f"{v:.2f}" if finite(v) else "–") for v in piv.loc[c]] for c in piv.index]
        parts.append("<details><summary>Mean rank at each budget as a table</summary>"
                     + table(["candidate"] + [f"{b} trial{'s' if b > 1 else ''}" for b in piv.columns], rows, sortable=True) + "</details>")
        parts.append(bag_views(a, styles))
    elif s.get("budget_curve") is False:
        parts.append('<p class="note">Budget curves are off in this suite (<code>budget_curve: false</code>).</p>')
    elif int(s.get("trials", 1) or 1) > 1:
        parts.append('<p class="note">No budget-curve records in this run.</p>')
    return '<div class="figrow">' + "".join(parts) + "</div>"


# ---------------------------------------------------------------------------------------------
# 5. Per task


def per_task(a: Analysis, styles: Styles) -> str:
    out = ['<nav class="tasknav">' + " ".join(f'<a href="#task-{i}">{esc(t)}</a>' for i, t in enumerate(a.tasks, 1)) + "</nav>"]
    for i, task in enumerate(a.tasks, 1):
        out.append(f'<article class="task" id="task-{i}">{_task(a, styles, task)}</article>')
    return "".join(out) or '<p class="note">No tasks.</p>'


def _task(a: Analysis, styles: Styles, task: str) -> str:
    info = a.table.tasks.get(task, {})
    m = a.metrics.get(task, "")
    desc = (f"{esc(info.get('kind'))} · {fmt(info.get('n_rows'))} rows · {fmt(info.get('n_features'))} features "
            f"({fmt(info.get('n_categorical', 0))} categorical)"
            + (f" · {fmt(info['n_missing'])} missing values" if info.get("n_missing") else " · no missing values" if info.get("n_missing") == 0 else "")
            + f" · tuning metric <b>{esc(m)}</b> ({direction_text(m)}) · "
            f"splits: {esc(info.get('split_strategy'))}")
    html = [f"<h3>{esc(task)}</h3><p class=\"muted\">{desc}</p>"]
    sub = a.table.df[a.table.df["task"] == task] if "task" in a.table.df else pd.DataFrame()
    if sub.empty:
        return "".join(html) + '<p class="note">No results for this task yet.</p>'
    html.append(_task_table(a, styles, task))
    html.append(diag.task_power_note(a, task))
    if a.per_task_note.get(task):
        html.append(f'<p class="note">{esc(a.per_task_note[task])}</p>')
    gib = greater_is_better(m)
    lc = a.lc[a.lc["task"] == task] if not a.lc.empty else a.lc
    if not lc.empty and lc["fraction"].nunique() >= 2:
        html.append(_safe_figure(
            lambda: figures.learning_curve_figure(lc, styles, metric=m, greater_is_better=gib),
            f"<b>Learning curves on {esc(task)}.</b> Tuned configuration refitted on nested, stratified subsamples of the outer training "
            f"rows; solid: {esc(m)} on the outer test fold (mean, band ±1 sd over folds); dashed: on the rows it was fitted on. A wide gap "
            "between them is over-fitting; a test line still rising at 100 % says more data would help.",
            name=f"learning-curves-{task}", wide=True))
    tc = a.tc[a.tc["task"] == task] if not a.tc.empty else a.tc
    if not tc.empty and tc["trial"].max() >= 2:
        html.append(_safe_figure(
            lambda: figures.tuning_curve_figure(tc, styles, metric=m, greater_is_better=gib),
            f"<b>Tuning curves on {esc(task)}.</b> Best mean inner-validation {esc(m)} found after n trials (mean over outer folds; band "
            "±1 sd). Left: in the order the sampler ran them (the first trial, trial 0, is the default configuration, so the first point is the default's "
            "score). Right: expected over 20 random orders of the same trials, as in the tabular-benchmark literature. A curve that "
            "keeps climbing needs a bigger budget; a flat one is good at its defaults.",
            name=f"tuning-curves-{task}", wide=True))
    eh = a.epochs[a.epochs["task"] == task] if not a.epochs.empty and "task" in a.epochs else pd.DataFrame()
    if not eh.empty:
        html.append(_safe_figure(
            lambda: figures.epoch_figure(eh, styles),
            f"<b>Epoch history of the final fits on {esc(task)}</b> (neural candidates): training and validation loss per epoch, "
            "one line per outer fold.", name=f"epochs-{task}", wide=True))
    return "".join(html)


def _task_table(a: Analysis, styles: Styles, task: str) -> str:
    m0 = a.metrics.get(task, "")
    ts = a.task_scores(task)
    metrics = ts.metrics
    cmp = a.per_task.get(task, {})
    rows = []
    flag = functools.partial(diag.low_power, a, task)
    for c in ts.candidates:
        n_ok = ts.n_ok[c]
        row: list[Any] = [cand_cell(c, styles.get(c))]
        for m in metrics:
            row.append(_score_cell(ts.scores[m][c], cmp.get(m), c, low_power=flag if m == m0 else _never))
        done = f"{n_ok}/{a.n_folds}" if a.n_folds else str(n_ok)
        row.append({"text": done, "sort": repr(n_ok), "cls": "fail" if n_ok < a.n_folds else ""})
        rows.append(row)
    header = ["candidate"] + [(f"{m}{' (tuning)' if m == m0 else ''}", direction_text(m)) for m in metrics] + [("folds ok", "completed outer folds / expected")]
    legend = ('<p class="note">Test scores on the outer folds, mean <span class="sd">± sd</span>. '
              '<span class="key best">best</span> best mean; <span class="key tie">≈</span> not significantly worse than the best '
              f"(Nadeau–Bengio corrected resampled t-test over the outer folds, Holm-corrected, α = {a.alpha:g}); unshaded: significantly worse. "
              "Hover a cell for its p-value.</p>")
    return legend + table(header, rows, sortable=True, cls="scores")


def _never(diff: float) -> bool:
    return False


def _score_cell(v: Spread, c_cmp: pd.DataFrame | None, c: str, low_power: Callable[[float], bool] = _never) -> dict[str, Any]:
    """A mean ± sd cell, shaded by the test against the best (``c_cmp``: compare_to_best frame)."""
    mean, sd = v.mean, v.sd
    text = "–" if not finite(mean) else score_fmt(mean) + (f" <span class=\"sd\">± {sd_fmt(sd)}</span>" if finite(sd) else "")
    cls, title = "", ""
    if c_cmp is not None and c in c_cmp.index:
        rowc = c_cmp.loc[c]
        if rowc["is_best"]:
            cls, title = "best", "best mean"
        elif not rowc["worse"]:
            cls, title = "tie", f"not significantly worse than the best (corrected t-test, Holm p = {p_text(rowc['p_holm'], below='< 0.001')})"
            if low_power(float(rowc["diff"])):
                text += f' <span class="lowpower">{diag.LOW_POWER}</span>'
                title += "; low power: the design cannot detect a gap of this size"
        else:
            title = f"significantly worse than the best (Holm p = {p_text(rowc['p_holm'], below='< 0.001')})"
    elif finite(mean):
        title = "not tested (a fold is missing or failed)"
    return {"text": text, "sort": repr(mean) if finite(mean) else "", "cls": cls, "title": title}


# ---------------------------------------------------------------------------------------------
# 6. Fairness audit


def fairness(a: Analysis, styles: Styles) -> str:
    if not a.jobs:
        return '<p class="note">No jobs yet.</p>'
    au = a.audit
    budget = au.budget
    expected = len(a.tasks) * a.n_folds
    rows = []
    for k in au.costs:
        c, nt = k.candidate, k.trials
        row = [cand_cell(c, styles.get(c)),
               {"text": f"{k.n_ok}/{expected}", "sort": repr(k.n_ok), "cls": "fail" if k.n_ok < expected else ""},
               ({"text": "post hoc", "sort": "-1", "cls": ""} if k.post_hoc else
                {"text": (f"{min(nt)}–{max(nt)}" if nt and min(nt) != max(nt) else str(nt[0]) if nt else "–") + f' <span class="sd">({k.trials_total} in all)</span>',
                 "sort": repr(min(nt)) if nt else "", "cls": "warn" if nt and min(nt) < budget else ""}),
               num(k.failed_trials, 0, cls="fail" if k.failed_trials else ""),
               num(k.model_fits, 0)]
        if au.any_base:
            row.append(num(k.base_fits, 0))
        row += [num(k.curve_fits, 0), num(k.cpu_seconds, 1), num(k.curve_cpu_seconds, 1)]
        if au.any_gpu:
            row.append(num(k.gpu_seconds, 1))
        row += [num(k.tune_seconds, 1), num(k.fit_seconds, 3), num(k.predict_seconds, 3)]
        if au.any_rounds:
            row.append(_rounds_cell(k))
        rows.append(row)
    header: list[Any] = ["candidate", ("jobs ok", "completed / expected (tasks × outer folds)"), ("trials per fold", f"the budget is {budget}"),
                         "failed trials", ("model fits", "tuning fits (one per inner split per trial) + the final refit")]
    if au.any_base:
        header.append(("base-model fits", "the same fits counted in base models: a bagging, boosting, voting or stacking fit trains many"))
    header += [("curve fits", "extra fits for the learning and budget curves (not part of the budget)"),
                         ("CPU s", "CPU seconds of tuning, refit and scoring"), ("CPU s curves", "CPU seconds of the curve fits")]
    if au.any_gpu:
        header.append(("GPU s", "GPU seconds where a candidate used one"))
    header += [("tuning s", "wall seconds spent tuning, total"), ("fit s", "mean wall seconds of the final refit"), ("predict s", "mean wall seconds to predict the outer test fold")]
    if au.any_rounds:
        header.append(("rounds", "boosting rounds of the final refit (the rounds its trial kept by early stopping, scaled to the refit's rows; mean); the title gives the range over every fit, tuning included"))
    verdict = _budget_verdict(a, au) + _post_hoc_note(au)
    return verdict + "<h3>Budget and cost per candidate</h3>" + table(header, rows, sortable=True, cls="fairness") + diag.overtuning(a, styles)


def _rounds_cell(k: Any) -> dict[str, Any]:
    """The cost table's rounds cell: the refits' mean, the range over every fit in the title."""
    cell = num(k.rounds, 0)
    if k.rounds_range:
        cell["title"] = "{}–{} rounds over every fit".format(*k.rounds_range)
    return cell


def _post_hoc_note(au: Audit) -> str:
    """How a post-hoc ensemble spent (and did not spend) budget, from its records."""
    items = []
    for e in au.post_hoc:
        items.append(
            f"<b>{esc(e.candidate)}</b> is post hoc: it ran no trials of its own. On each fold it selected (greedy, with replacement) from the "
            f"{e.library_size:.0f} configurations that {esc(', '.join(e.library))} tried while tuning, scored on their out-of-fold inner validation "
            f"predictions, and refitted only the {e.refits:.1f} distinct configurations it chose (mean)"
            + (", after dropping library members (mean per fold): " + ", ".join(f"{n:.1f} {esc(r)}" for r, n in e.excluded.items()) if e.excluded else "")
            + f". Its library cost the "
            f"{len(e.library)} candidates' budgets together, so it is not an equal-budget rival: read it as what an ensemble of the tuned "
            f"models buys. It beat its best single member on the validation predictions in {e.n_beat_best} of {e.n_folds} folds "
            "(never worse, by construction).")
    if not items:
        return ""
    return '<ul class="verdict">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>" + _post_hoc_table(au.gains)


def _post_hoc_table(gains: list[PostHocGain]) -> str:
    """Per task: the ensemble's mean outer-test score next to the best single candidate's, and
    the candidates the selection weighted most (mean weight over folds)."""
    rows = []
    for g in gains:
        top = ", ".join(f"{esc(k)} {w:.2f}" for k, w in g.weights)
        rows.append([esc(g.candidate), esc(g.task), esc(g.metric), num(g.ensemble), {"text": f"{esc(g.best)} {fmt(g.best_score)}", "sort": repr(g.best_score)},
                     num(g.gain, cls="good" if g.gain > 0 else "fail" if g.gain < 0 else ""), {"text": top, "sort": top}])
    if not rows:
        return ""
    header = ["ensemble", "task", "metric", ("ensemble", "mean outer-test score"), ("best single", "the best other candidate by mean outer-test score, picked with hindsight on the test folds, which favours it"),
              ("gain", "ensemble minus best single, oriented so that positive is better"), ("weights", "mean selection weight per candidate over the folds")]
    return "<h3>What the ensemble of the tuned models buys</h3>" + table(header, rows, sortable=True, cls="posthoc")


def _budget_verdict(a: Analysis, au: Audit) -> str:
    s = a.manifest.get("suite", {})
    inner = s.get("inner")
    inner_txt = f"a {inner:g} holdout" if isinstance(inner, float) else f"{inner} inner folds"
    items = [f"Budget: <b>{au.budget} trials</b> per candidate per outer fold"
             + (f", at most {fmt(s.get('seconds'))} s" if s.get("seconds") else "")
             + f", each trial scored on {esc(inner_txt)}; trial 0 (the first) is always the candidate's default configuration."]
    if not au.short:
        items.append("✔ Every candidate ran the full budget on every outer fold it completed.")
    else:
        if au.one_config:
            items.append("Ran one configuration only, having nothing to tune: " + ", ".join(f"<b>{esc(c)}</b>" for c in au.one_config) + ".")
        if au.fewer_trials:
            items.append("⚠ Ran fewer trials than the budget on some folds (the seconds cap stopped them, or trials failed): "
                         + ", ".join(f"<b>{esc(c)}</b>" for c in au.fewer_trials) + ".")
    if au.final == "bag":
        items.append(f"Final predictions are bagged (<code>final: bag</code>): each job's test score is its chosen configuration's inner-fold models "
                     f"averaged, with no refit; fits are counted as in <code>refit</code> mode, and bagging saved <b>{au.fits_saved}</b> fits "
                     "(final refits, budget-curve refits and ensemble-member refits).")
    if au.fold_hashes:
        items.append("✔ Every candidate was tuned and tested on identical splits (the fold hashes match on every task and fold)." if au.same_splits
                     else "⚠ Fold hashes differ between candidates on some folds: the splits were not shared.")
    return '<ul class="verdict">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


# ---------------------------------------------------------------------------------------------
# 8. Provenance


def provenance(a: Analysis, styles: Styles) -> str:
    m = a.manifest
    s = m.get("suite", {})
    rows = [("Commit", f'<span class="mono">{esc(m.get("git_commit") or "not a git checkout")}</span>'),
            ("Command", f'<span class="mono">{esc(m.get("command", ""))}</span>'),
            ("Suite file", esc(m.get("suite_source", ""))),
            ("Suite hash", f'<span class="mono">{esc(str(m.get("suite_hash", ""))[:16])}</span>'),
            ("Seed (splits)", esc(s.get("seed"))),
            ("Model and sampler seed", esc(s.get("model_seed") if s.get("model_seed") is not None else f"{s.get('seed')} (= seed)")),
            ("Created", esc(m.get("created", ""))),
            ("Resumed", esc(m.get("resumed", "–")))]
    rows += [(f"Machine: {k}", esc(v)) for k, v in (m.get("machine") or {}).items()]
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in (m.get("versions") or {}).items())
    rows.append(("Library versions", f'<span class="mono">{versions}</span>'))
    tasks = [[{"text": esc(n)}, {"text": esc(t.get("source"))}, {"text": esc(t.get("kind"))}, num(t.get("n_rows"), 0),
              {"text": f'<span class="mono">{esc(str(t.get("data_hash"))[:16])}</span>'},
              {"text": f'<span class="mono">{esc(str(t.get("split_hash"))[:16])}</span>'}, {"text": esc(t.get("split_strategy"))}]
             for n, t in (m.get("tasks") or {}).items()]
    try:
        import yaml

        suite_txt = yaml.safe_dump(json.loads(json.dumps(s, default=str)), sort_keys=False, allow_unicode=True)
    except Exception:
        suite_txt = json.dumps(s, indent=2, sort_keys=True, default=str)
    return (kv(rows) + "<h3>Data and splits</h3>" + table(["task", "source", "kind", "rows", "data hash", "split hash", "splits"], tasks)
            + f"<details><summary>The suite as run</summary><pre>{esc(suite_txt)}</pre></details>")
