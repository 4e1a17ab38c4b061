"""Paper tables: the leaderboard and the per-task tables, as tidy frames and as LaTeX.

Every number comes from :mod:`benchmark.report.analysis` (the same object the HTML report reads),
so a table and the report never disagree.  The leaderboard's columns are a list of
:class:`Column` entries, each reading one thing from the analysis: a column the report gains
(Elo with its interval, say) is one more entry in :data:`LEADERBOARD`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmark.export import latex
from benchmark.report.analysis import Analysis, LeaderRow, Spread
from benchmark.report.markup import finite, p_text, score_fmt, sd_fmt


@dataclass(frozen=True)
class Board:
    """What every leaderboard row is read against: the leader and the significance groups."""

    leader: str
    groups: dict[str, str]


@dataclass(frozen=True)
class Column:
    """One leaderboard column: ``values`` gives its tidy (CSV/Parquet) fields for a row, ``text``
    turns those fields into the LaTeX cell; ``shown`` says whether the run has it at all."""

    title: str
    align: str
    values: Callable[[Analysis, LeaderRow, Board], dict[str, Any]]
    text: Callable[[dict[str, Any]], str]
    shown: Callable[[Analysis], bool] = field(default=lambda a: True)


def _num(x: Any, digits: int) -> str:
    return f"{float(x):.{digits}f}" if finite(x) else "--"


def _spread_text(mean: Any, sd: Any) -> str:
    if not finite(mean):
        return "--"
    return latex.escape(score_fmt(mean)) + (r" $\pm$ " + latex.escape(sd_fmt(sd)) if finite(sd) else "")


def _vs_leader(a: Analysis, line: LeaderRow, board: Board) -> dict[str, Any]:
    """Wins / ties / losses and the p-value against the leader, from the row's side.  Across tasks:
    Wilcoxon–Holm (as the report); with one task: the corrected t-test against the best (Holm)."""
    out: dict[str, Any] = {"wins": math.nan, "ties": math.nan, "losses": math.nan, "p_vs_leader": math.nan, "significant": None}
    c = line.candidate
    if c == board.leader:
        return out
    pr = a.pair(board.leader, c)
    if pr is not None:
        out.update(wins=pr["losses"], ties=pr["ties"], losses=pr["wins"], p_vs_leader=pr["p_holm"], significant=bool(pr["reject"]))
    elif len(a.tasks) == 1:
        cmp = a.per_task.get(a.tasks[0], {}).get(a.metrics.get(a.tasks[0], ""))
        if cmp is not None and c in cmp.index and not cmp.loc[c, "is_best"]:
            out.update(p_vs_leader=float(cmp.loc[c, "p_holm"]), significant=bool(cmp.loc[c, "worse"]))
    return out


def _wtl_text(v: dict[str, Any]) -> str:
    return "--" if not finite(v["wins"]) else f"{int(v['wins'])}/{int(v['ties'])}/{int(v['losses'])}"


def _p_cell(v: dict[str, Any]) -> str:
    return latex.escape(p_text(v["p_vs_leader"], missing="--", below="<0.001")) + ("*" if v["significant"] else "")


def _raw(a: Analysis, line: LeaderRow, board: Board) -> dict[str, Any]:
    raw = line.raw or Spread(math.nan, math.nan, 0)
    return {"score_mean": raw.mean, "score_sd": raw.sd}


def _elo(a: Analysis, candidate: str) -> dict[str, Any]:
    """The report's Elo (Bradley–Terry, anchored at 1000 on ``a.arena.reference``) with its bootstrap CI."""
    frame = a.arena.frame.set_index("candidate") if a.arena is not None else pd.DataFrame()
    if candidate not in frame.index:
        return {"elo": math.nan, "elo_low": math.nan, "elo_high": math.nan}
    row = frame.loc[candidate]
    return {"elo": float(row["elo"]), "elo_low": float(row["elo_low"]), "elo_high": float(row["elo_high"])}


def _elo_text(v: dict[str, Any]) -> str:
    if not finite(v["elo"]):
        return "--"
    ci = f" [{v['elo_low']:.0f}, {v['elo_high']:.0f}]" if finite(v["elo_low"]) and finite(v["elo_high"]) else ""
    return f"{v['elo']:.0f}{ci}"


#: The leaderboard, left to right.  Elo (report issue): add one ``Column`` reading it from the analysis.
LEADERBOARD: list[Column] = [
    Column("candidate", "l", lambda a, r, b: {"candidate": r.candidate}, lambda v: latex.escape(v["candidate"])),
    Column("mean rank", "r", lambda a, r, b: {"mean_rank": r.mean_rank}, lambda v: _num(v["mean_rank"], 2)),
    Column("group", "l", lambda a, r, b: {"group": b.groups.get(r.candidate, "")}, lambda v: latex.escape(v["group"])),
    Column("tasks won", "r", lambda a, r, b: {"tasks_won": r.tasks_won}, lambda v: str(v["tasks_won"])),
    Column("W/T/L", "c", lambda a, r, b: {k: v for k, v in _vs_leader(a, r, b).items() if k in ("wins", "ties", "losses")}, _wtl_text,
           shown=lambda a: a.rank is not None),
    Column("p vs leader", "r", lambda a, r, b: {k: v for k, v in _vs_leader(a, r, b).items() if k in ("p_vs_leader", "significant")}, _p_cell),
    Column("normalised", "r", lambda a, r, b: {"normalised_mean": r.normalised.mean, "normalised_sd": r.normalised.sd},
           lambda v: _spread_text(v["normalised_mean"], v["normalised_sd"])),
    Column("score", "r", _raw, lambda v: _spread_text(v["score_mean"], v["score_sd"]), shown=lambda a: a.show_raw),
    Column("Elo [95% CI]", "r", lambda a, r, b: _elo(a, r.candidate), _elo_text, shown=lambda a: a.arena is not None),
    Column("failed", "r", lambda a, r, b: {"n_failed": r.n_failed}, lambda v: str(v["n_failed"])),
]


def _board(a: Analysis) -> Board | None:
    rows = a.leaderboard_rows
    return Board(leader=rows[0].candidate, groups=a.groups()) if rows else None


def leaderboard_frame(a: Analysis) -> pd.DataFrame:
    """Tidy leaderboard: one row per candidate, best first, every shown column's fields."""
    board = _board(a)
    cols = [c for c in LEADERBOARD if c.shown(a)]
    rows = []
    for pos, line in enumerate(a.leaderboard_rows, 1):
        row: dict[str, Any] = {"position": pos}
        for col in cols:
            row.update(col.values(a, line, board))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("wins", "ties", "losses"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    if "significant" in frame:
        frame["significant"] = frame["significant"].astype("boolean")
    return frame


def caption_facts(a: Analysis) -> str:
    """Suite, folds, trials and α, as LaTeX for a caption."""
    suite = a.manifest.get("suite", {})
    folds = int(suite.get("folds") or 0)
    repeats = int(suite.get("repeats") or 1)
    budget = []
    if suite.get("trials"):
        budget.append(f"{suite['trials']} tuning trials")
    if suite.get("seconds"):
        budget.append(f"{suite['seconds']:g} s")
    fold_text = f"{folds} outer folds" + (f" $\\times$ {repeats} repeats" if repeats > 1 else "")
    return (f"Suite \\texttt{{{latex.escape(suite.get('name', 'run'))}}}: {len(a.tasks)} task{'s' if len(a.tasks) != 1 else ''}, "
            f"{fold_text}, {' and '.join(budget) or 'no tuning budget'} per candidate and outer fold, $\\alpha = {a.alpha:g}$.")


def leaderboard_latex(a: Analysis) -> str:
    board = _board(a)
    cols = [c for c in LEADERBOARD if c.shown(a)]
    rows = []
    for line in a.leaderboard_rows:
        rows.append([col.text(col.values(a, line, board)) for col in cols])
    if a.rank is not None:
        test = (f"Group: candidates sharing a letter are not significantly different (Nemenyi, critical difference "
                f"{a.rank.nemenyi.cd:.2f} ranks). W/T/L: tasks won, tied and lost against the leader; p: Wilcoxon signed-rank "
                "test against the leader, Holm-corrected; * significant.")
    else:
        test = ("p: corrected resampled t-test against the best over the outer folds, Holm-corrected; * significantly worse."
                if len(a.tasks) == 1 else "No test across tasks: " + latex.escape(a.rank_note) + ".")
    score = (f" Score: {latex.escape(a.raw_metric)}, mean $\\pm$ sd over {'the outer folds' if len(a.tasks) == 1 else 'tasks'}."
             if a.show_raw else "")
    elo = (f" Elo: Bradley--Terry rating from every pairwise (task, fold) outcome, anchored at 1000 on "
           f"\\texttt{{{latex.escape(a.arena.reference)}}}, with a 95\\% bootstrap interval over tasks." if a.arena is not None else "")
    caption = (f"Leaderboard. {caption_facts(a)} Mean rank over tasks (1 = best); normalised score per task "
               f"0 = worst and 1 = best candidate (mean $\\pm$ sd).{score} {test}{elo}")
    return latex.table([c.title for c in cols], rows, align="".join(c.align for c in cols), caption=caption,
                       label="tab:leaderboard", wide=len(cols) > 7)


# ---------------------------------------------------------------------------------------------
# Per task


def task_frame(a: Analysis, task: str) -> pd.DataFrame:
    """Tidy: one row per (candidate, metric) on ``task``: mean, sd, n over the outer folds, and the
    test against the best (``is_best``, ``not_worse``: not significantly worse, ``p_holm``)."""
    ts = a.task_scores(task)
    cmp_all = a.per_task.get(task, {})
    rows = []
    for m in ts.metrics:
        cmp = cmp_all.get(m)
        best = _best_by_mean(ts, m, cmp)
        for c in ts.candidates:
            s = ts.scores[m][c]
            tested = cmp is not None and c in cmp.index
            rows.append({
                "task": task, "candidate": c, "metric": m, "tuning_metric": m == a.metrics.get(task), "mean": s.mean, "sd": s.sd,
                "n_folds": s.n, "folds_ok": ts.n_ok[c], "is_best": c == best,
                "not_worse": (not bool(cmp.loc[c, "worse"])) if tested else None,
                "p_holm": float(cmp.loc[c, "p_holm"]) if tested else math.nan,
            })
    return pd.DataFrame(rows)


def _best_by_mean(ts: Any, m: str, cmp: pd.DataFrame | None) -> str | None:
    if cmp is not None:
        best = cmp.index[cmp["is_best"].astype(bool)]
        if len(best):
            return str(best[0])
    from benchmark.metrics import greater_is_better

    means = {c: ts.scores[m][c].mean for c in ts.candidates if finite(ts.scores[m][c].mean)}
    if not means:
        return None
    return (max if greater_is_better(m) else min)(means, key=means.get)


def task_latex(a: Analysis, task: str) -> str:
    frame = task_frame(a, task)
    metrics = list(dict.fromkeys(frame["metric"])) if not frame.empty else []
    header = ["candidate"] + [m + (" (tuning)" if m == a.metrics.get(task) else "") for m in metrics]
    rows = []
    for c in dict.fromkeys(frame["candidate"]) if not frame.empty else []:
        row = [latex.escape(c)]
        for m in metrics:
            r = frame[(frame["candidate"] == c) & (frame["metric"] == m)].iloc[0]
            cell = _spread_text(r["mean"], r["sd"])
            if r["is_best"]:
                cell = latex.bold(cell)
            elif r["not_worse"] is not None and r["not_worse"] == True:  # noqa: E712 (numpy bool)
                cell = latex.underline(cell)
            row.append(cell)
        rows.append(row)
    from benchmark.metrics import greater_is_better

    dirs = "; ".join(f"{latex.escape(m)} {'higher' if greater_is_better(m) else 'lower'} is better" for m in metrics)
    caption = (f"Task \\texttt{{{latex.escape(task)}}}: test scores on the outer folds, mean $\\pm$ sd ({dirs}). "
               "Bold: best mean; underlined: not significantly worse than the best (Nadeau--Bengio corrected resampled "
               f"t-test over the outer folds, Holm-corrected). {caption_facts(a)}")
    return latex.table(header, rows, align="l" + "r" * len(metrics), caption=caption, label=f"tab:task-{latex.slug(task)}",
                       wide=len(metrics) > 3)
