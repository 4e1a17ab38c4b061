"""The plain-language conclusions at the top of the report, generated from the statistics.

Each sentence is backed by a test result in the :class:`Analysis` (and says which), or is
labelled *descriptive* when it only describes curves that no test covers.  Nothing here claims
a difference that the tests did not find.  Sentences are returned as HTML with every name escaped.
"""

from __future__ import annotations

import math

import numpy as np

from benchmark.report.analysis import Analysis, kendall_tau
from benchmark.report.markup import esc, p_sentence


def _names(names: list[str], limit: int = 6) -> str:
    shown = [f"<b>{esc(n)}</b>" for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    if len(shown) <= 1:
        return "".join(shown) + more
    return ", ".join(shown[:-1]) + (" and " if not more else ", ") + shown[-1] + more


def conclusions(a: Analysis) -> list[str]:
    """Sentences (HTML) in reading order: scope, overall test, winner vs runner-up, who is worse,
    per-task tests, curves (descriptive), failures and missing results."""
    out: list[str] = []
    suite = a.manifest.get("suite", {})
    n_done = len(a.jobs)
    out.append(
        f"{len(a.candidates)} candidates were compared on {len(a.tasks)} task{'s' if len(a.tasks) != 1 else ''} "
        f"with {a.n_folds} outer folds each and the same budget of "
        f"{esc(suite.get('trials'))} tuning trials per candidate per fold"
        + (f" ({', '.join(f'<b>{esc(c)}</b>' for c in a.audit.one_config)} had nothing to tune and ran its one configuration)"
           if a.audit.one_config else "") + "."
    )
    if a.rank is not None:
        out.extend(_across_tasks(a))
    elif a.rank_note:
        leader = a.leader
        lead = f" <b>{esc(leader)}</b> has the best mean score." if leader and len(a.tasks) == 1 else ""
        out.append(f"No test across tasks: {esc(a.rank_note)}.{lead}")
    if a.leader in a.post_hoc and a.equal_budget_leader:
        out.append(f"<b>{esc(a.leader)}</b> is post hoc: it was built from every other candidate's trials and spent their budgets "
                   f"together; among candidates with an equal budget, <b>{esc(a.equal_budget_leader)}</b> leads.")
    out.extend(_per_task_sentences(a))
    out.extend(_curve_sentences(a))
    failed = a.failed_jobs
    if failed:
        by: dict[str, int] = {}
        for r in failed:
            by[r["candidate"]] = by.get(r["candidate"], 0) + 1
        detail = ", ".join(f"{esc(c)}: {n}" for c, n in sorted(by.items()))
        out.append(f"{len(failed)} of {n_done} finished jobs failed ({detail}); a failed job ranks last on its task (see Failures).")
    if a.missing_jobs:
        out.append(f"<b>The run is incomplete</b>: {len(a.missing_jobs)} of {a.expected_jobs} jobs have no result yet; "
                   "missing results rank last, so conclusions may change when the run is resumed.")
    return out


def _across_tasks(a: Analysis) -> list[str]:
    r = a.rank
    out = []
    ranks = r.mean_ranks
    order = list(ranks)
    leader, runner = order[0], order[1]
    basis = (f"scores normalised per task (0 = worst, 1 = best candidate) because {esc(a.test_block_reason)}"
             if a.test_block_kind == "normalised" else "the tuning metric's scores")
    idp = r.iman_davenport.p_value
    if idp is not None and math.isfinite(idp) and idp < a.alpha:
        out.append(f"Across {r.n_datasets} tasks the candidates differ significantly overall "
                   f"(Iman–Davenport F-test {p_sentence(idp)}; Friedman χ² {p_sentence(r.friedman.p_value)}; pairwise tests on {basis}).")
    else:
        out.append(f"Across {r.n_datasets} tasks the Iman–Davenport test does not reject that all candidates perform alike "
                   f"({p_sentence(idp)}), so the ranking is descriptive and post-hoc differences are exploratory.")
    if r.n_datasets < 5:
        out.append(f"With only {r.n_datasets} tasks the omnibus tests rest on very few rankings (Demšar 2006 works with ten or more); "
                   "read every p-value here with care.")
    tied = a.tied_leaders()
    pr = a.pair(leader, runner)
    if len(tied) > 1:
        out.append(f"{_names(tied)} share the best mean rank ({ranks[leader]:.2f}).")
    else:
        sig = pr is not None and pr["reject"]
        verdict = "is significantly better than" if sig else "is <b>not</b> significantly better than"
        out.append(f"<b>{esc(leader)}</b> has the best mean rank ({ranks[leader]:.2f}) and {verdict} the runner-up "
                   f"<b>{esc(runner)}</b> ({ranks[runner]:.2f}; Wilcoxon signed-rank, Holm-corrected {p_sentence(pr['p_holm'] if pr else None)}; "
                   f"Nemenyi rank difference {ranks[runner] - ranks[leader]:.2f} vs critical difference {r.nemenyi.cd:.2f}).")
    min_p = 2.0 ** (1 - r.n_datasets)
    if min_p >= a.alpha:
        out.append(f"With only {r.n_datasets} tasks no Wilcoxon test can reach α = {a.alpha:g} (the smallest possible p is {min_p:.3g}); "
                   "add tasks to separate the candidates.")
    worse = [c for c in order[1:] if (p := a.pair(leader, c)) is not None and p["reject"] and p["better"] == leader]
    nem_worse = [c for c in order[1:] if ranks[c] - ranks[leader] >= r.nemenyi.cd - 1e-12]
    if worse:
        out.append(f"Significantly worse than {esc(leader)} across tasks (Wilcoxon–Holm): {_names(worse)}.")
    if nem_worse:
        out.append(f"Outside {esc(leader)}'s critical difference (Nemenyi): {_names(nem_worse)}.")
    if not worse and not nem_worse and min_p < a.alpha:
        out.append(f"No candidate is significantly worse than {esc(leader)} across tasks.")
    return out


def _per_task_sentences(a: Analysis) -> list[str]:
    """From the per-task corrected t-tests on each task's tuning metric."""
    tested = {t: a.per_task[t][a.metrics[t]] for t in a.tasks if t in a.metrics and a.metrics[t] in a.per_task.get(t, {})}
    if not tested:
        return []
    top: dict[str, int] = {c: 0 for c in a.candidates}
    worse_all = {c: 0 for c in a.candidates}
    for cmp in tested.values():
        for c, row in cmp.iterrows():
            if not row["worse"]:
                top[c] = top.get(c, 0) + 1
            else:
                worse_all[c] = worse_all.get(c, 0) + 1
    n = len(tested)
    always = [c for c in a.candidates if top.get(c) == n]
    never = [c for c in a.candidates if worse_all.get(c) == n]
    out = []
    if len(a.tasks) == 1:
        cmp = next(iter(tested.values()))
        best = cmp.index[0]
        same = [c for c, row in cmp.iterrows() if not row["is_best"] and not row["worse"]]
        text = f"On this task <b>{esc(best)}</b> has the best mean score"
        text += (f"; {_names(same)} {'is' if len(same) == 1 else 'are'} not significantly worse" if same else "; every other candidate is significantly worse")
        out.append(text + " (corrected resampled t-test, Holm).")
        return out
    if always:
        out.append(f"Per task (corrected resampled t-test against each task's best, Holm): {_names(always)} "
                   f"{'is' if len(always) == 1 else 'are'} the best or not significantly worse than the best on all {n} tested tasks.")
    else:
        counts = sorted(((top[c], c) for c in a.candidates if top.get(c)), reverse=True)[:3]
        if counts:
            out.append("Per task (corrected resampled t-test against each task's best, Holm), no candidate is among the best everywhere; most often: "
                       + ", ".join(f"<b>{esc(c)}</b> ({k} of {n})" for k, c in counts) + ".")
    if never:
        out.append(f"Significantly worse than the best on every tested task: {_names(never)}.")
    return out


def _curve_sentences(a: Analysis) -> list[str]:
    out = []
    s = a.lc_summary
    if not s.empty and s["fraction"].nunique() >= 2:
        fr = sorted(s["fraction"].unique())
        last, prev = fr[-1], fr[-2]
        pivot = s.pivot(index="candidate", columns="fraction", values="mean")
        gain = (pivot[last] - pivot[prev]).dropna().sort_values(ascending=False)
        rising = [(c, g) for c, g in gain.items() if g > 0.02]
        if rising:
            listed = ", ".join(f"<b>{esc(c)}</b> (+{g:.2f})" for c, g in rising[:4])
            out.append(f"<i>Descriptive, no test:</i> from {100 * prev:g} % to {100 * last:g} % of the training rows the normalised test score "
                       f"still rose most for {listed}; more data would likely help these most.")
        else:
            out.append(f"<i>Descriptive, no test:</i> from {100 * prev:g} % to {100 * last:g} % of the training rows no candidate's normalised "
                       "test score rose by more than 0.02; the learning curves look flat at this size.")
    b = a.budget
    if not b.empty and b["budget"].nunique() >= 2:
        lo, hi = b["budget"].min(), b["budget"].max()
        r_lo = b[b["budget"] == lo].set_index("candidate")["mean_rank"].to_dict()
        r_hi = b[b["budget"] == hi].set_index("candidate")["mean_rank"].to_dict()
        lead_lo = min(r_lo, key=lambda c: r_lo[c])
        lead_hi = min(r_hi, key=lambda c: r_hi[c])
        tau = kendall_tau(r_lo, r_hi)
        tau_txt = f"; Kendall's τ between the two rankings = {tau:.2f}" if np.isfinite(tau) else ""
        if lead_lo == lead_hi:
            out.append(f"<i>Descriptive:</i> <b>{esc(lead_hi)}</b> leads both with its default configuration ({lo} trial{'s' if lo > 1 else ''}) "
                       f"and at the full budget ({hi} trials){tau_txt}.")
        else:
            out.append(f"<i>Descriptive:</i> the leader depends on the budget: <b>{esc(lead_lo)}</b> leads after {lo} trial{'s' if lo > 1 else ''} "
                       f"(its defaults), <b>{esc(lead_hi)}</b> at the full budget of {hi}{tau_txt}.")
    return out
