"""Render a run's ResultTable and manifest to one self-contained HTML page.

Every name that came from a user (task, column, candidate, error text) goes through
``html.escape``; the page carries no external URL.
"""

from __future__ import annotations

import html
import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import METRICS
from benchmark.results import ResultTable
from benchmark.store import Store

log = logging.getLogger(__name__)

_CSS = """
:root{--fg:#1d2329;--muted:#5b6670;--line:#d8dee4;--bg:#fff;--accent:#0b5cad;--best:#e6f2e6;--bad:#fbeaea}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.muted{color:var(--muted)}table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f4f6f8;font-weight:600;position:sticky;top:0}th.sortable{cursor:pointer;user-select:none}th.sortable:after{content:" \\2195";color:#9aa5b1;font-size:11px}
td.best{background:var(--best);font-weight:600}td.fail{background:var(--bad)}.kv td{text-align:left}.kv td:first-child{color:var(--muted);padding-right:18px}
.summary{background:#f7f9fb;border:1px solid var(--line);border-radius:6px;padding:12px 16px}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.figure{overflow-x:auto;margin:8px 0}.figure svg{max-width:100%;height:auto}nav a{margin-right:14px;color:var(--accent);text-decoration:none}
details{margin:6px 0}pre{white-space:pre-wrap;background:#f4f6f8;padding:8px;border-radius:4px;font-size:12px}
@media print{nav{display:none}body{max-width:none;padding:0}th{position:static}h2{break-after:avoid}table,.figure{break-inside:avoid}}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){th.classList.add('sortable');th.addEventListener('click',function(){
    var body=t.tBodies[0],rows=Array.from(body.rows),asc=th.dataset.dir!=='asc';
    t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});th.dataset.dir=asc?'asc':'desc';
    rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
      var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c});
    rows.forEach(function(r){body.appendChild(r)});});});});
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 or abs(x) >= 1e5 else f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
    return esc(x)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sortable: bool = False, cls: str = "") -> str:
    """Rows of cells; a cell is a value or a dict {text, sort, cls} (text already escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, dict):
                attrs = f' class="{cell["cls"]}"' if cell.get("cls") else ""
                if cell.get("sort") is not None:
                    attrs += f' data-v="{esc(cell["sort"])}"'
                cells.append(f"<td{attrs}>{cell['text']}</td>")
            else:
                cells.append(f"<td>{fmt(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    classes = " ".join(c for c in ("sortable" if sortable else "", cls) if c)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _num(x: float, digits: int = 4) -> dict[str, Any]:
    return {"text": fmt(x, digits), "sort": "" if x is None or not np.isfinite(x) else repr(float(x))}


# ---------------------------------------------------------------------------------------------


def build_html(table: ResultTable, manifest: dict[str, Any], *, records: list[dict[str, Any]] | None = None) -> str:
    """The whole page as a string."""
    suite = manifest.get("suite", {})
    title = f"Benchmark report — {suite.get('name', 'run')}"
    sections = [
        ("summary", "Summary", _summary(table, manifest)),
        ("leaderboard", "Leaderboard", _leaderboard(table)),
        ("significance", "Ranking and significance", _significance(table)),
        ("metrics", "Scores per metric", _per_metric(table)),
        ("tasks", "Per task", _per_task(table)),
        ("budget", "Budget and cost", _budget(table)),
        ("failures", "Failures", _failures(table, records or [])),
        ("provenance", "Provenance", _provenance(manifest)),
    ]
    nav = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{esc(name)}</h2>{content}</section>' for sid, name, content in sections)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class=\"muted\">created {esc(manifest.get('created', ''))}</p><nav>{nav}</nav>{body}"
        f"<script>{_JS}</script></body></html>"
    )


def _summary(table: ResultTable, manifest: dict[str, Any]) -> str:
    s = manifest.get("suite", {})
    n_expected = len(manifest.get("tasks", {})) * len(manifest.get("candidates", {})) * int(s.get("folds", 0)) * int(s.get("repeats", 1))
    df = table.df
    n_ok = int((df["state"] == "ok").sum()) if "state" in df else 0
    n_failed = int((df["state"] != "ok").sum()) if "state" in df else 0
    missing = max(0, n_expected - len(df))
    metrics = sorted({t.get("metric", "") for t in manifest.get("tasks", {}).values()})
    budget = f"{s.get('trials')} trials" + (f", at most {fmt(s.get('seconds'))} s" if s.get("seconds") else "") + " per candidate per outer fold"
    inner = s.get("inner")
    inner_txt = f"holdout {inner:g}" if isinstance(inner, float) else f"{inner}-fold"
    lb = table.leaderboard()
    lead = ""
    if not lb.empty:
        lead = f"<p>Best mean rank: <b>{esc(lb.iloc[0]['candidate'])}</b> ({fmt(lb.iloc[0]['mean_rank'], 3)}). See the significance section before calling it a winner.</p>"
    status = f"{n_ok} of {n_expected} jobs done" + (f", {n_failed} failed" if n_failed else "") + (f", <b>{missing} missing (incomplete run)</b>" if missing else "")
    rows = [
        ("Suite", esc(s.get("name", ""))),
        ("Tasks", esc(", ".join(table.tasks))),
        ("Candidates", esc(", ".join(table.candidates))),
        ("Outer folds", f"{s.get('folds')} × {s.get('repeats', 1)} repeat(s)"),
        ("Inner tuning", f"{inner_txt}, {esc(s.get('sampler', 'tpe'))} sampler, first trial = defaults"),
        ("Budget", esc(budget)),
        ("Tuning metric", esc(", ".join(metrics))),
        ("Seed", esc(s.get("seed"))),
        ("Status", status),
    ]
    kv = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="summary"><table class="kv">{kv}</table>{lead}</div>'


def _leaderboard(table: ResultTable) -> str:
    lb = table.leaderboard()
    if lb.empty:
        return "<p>No completed jobs yet.</p>"
    rows = [
        [
            {"text": esc(r.candidate)},
            _num(r.mean_rank, 3),
            _num(r.normalized_score, 3),
            _num(r.mean_score),
            _num(r.std_score),
            {"text": str(int(r.wins)), "sort": r.wins},
            {"text": str(int(r.n_tasks)), "sort": r.n_tasks},
            {"text": str(int(r.n_failed)), "sort": r.n_failed, "cls": "fail" if r.n_failed else ""},
            _num(r.n_trials, 3),
            _num(r.fit_seconds, 3),
        ]
        for r in lb.itertuples()
    ]
    note = (
        '<p class="muted">Mean rank over tasks by each task\'s tuning metric (1 = best; ties share ranks; a missing result ranks last). '
        "Normalised score: per task, 0 = the worst candidate's mean, 1 = the best's, averaged over tasks. "
        "Mean score and std are shown only when every task uses the same metric. Click a header to sort.</p>"
    )
    return note + _table(["candidate", "mean rank", "normalised score", "mean score", "mean std over folds", "wins", "tasks", "failed jobs", "trials / fold", "refit s"], rows, sortable=True)


def _significance(table: ResultTable) -> str:
    block = table.to_block(oriented=True)
    if block.shape[0] < 2 or block.shape[1] < 2:
        return "<p>Significance tests across datasets need at least two tasks and two candidates with results.</p>"
    try:
        from benchmark import stats
        from benchmark.report.cd_diagram import cd_diagram
    except ImportError:  # pragma: no cover - stats layer missing
        return "<p>Statistics module unavailable.</p>"
    try:
        res = stats.rank(block, greater_is_better=True, missing="last")
    except Exception as exc:  # the report must render even when a test cannot be computed
        log.warning("ranking failed: %s", exc)
        return f"<p>Ranking could not be computed: {esc(exc)}</p>"
    d = res.to_dict()
    fr, idv, nem = d.get("friedman", {}), d.get("iman_davenport", {}), d.get("nemenyi", {})
    text = (
        f"<p>Across {res.n_datasets} tasks: Friedman χ² = {fmt(fr.get('statistic'))}, p = {fmt(fr.get('p_value'))}; "
        f"Iman–Davenport F = {fmt(idv.get('statistic'))}, p = {fmt(idv.get('p_value'))}. "
        f"Nemenyi critical difference at α = {fmt(nem.get('alpha'))}: {fmt(nem.get('cd'), 3)} ranks. "
        f"Missing results: {esc(d.get('missing_policy', d.get('missing', 'last')))}.</p>"
    )
    try:
        svg = cd_diagram(res)
    except Exception as exc:
        log.warning("CD diagram failed: %s", exc)
        svg = f"<p>CD diagram could not be drawn: {esc(exc)}</p>"
    pairs = d.get("pairwise", [])
    rows = [
        [{"text": esc(p["a"])}, {"text": esc(p["b"])}, _num(p.get("mean_diff")), _num(p.get("p_value")), _num(p.get("p_holm")),
         {"text": "yes" if p.get("p_holm", 1) is not None and p.get("p_holm", 1) < (nem.get("alpha") or 0.05) else "no"}]
        for p in pairs
    ]
    pair_table = _table(["A", "B", "mean diff (A − B)", "Wilcoxon p", "Holm p", "significant"], rows, sortable=True)
    n_sig = sum(1 for r in rows if r[-1]["text"] == "yes")
    return (text + f'<div class="figure">{svg}</div>'
            + f"<details><summary>Pairwise Wilcoxon signed-rank tests, Holm-corrected ({n_sig} of {len(rows)} pairs significant)</summary>{pair_table}</details>")


def _cell_mean_std(mean: float, std: float, best: bool) -> dict[str, Any]:
    text = "–" if not np.isfinite(mean) else f"{fmt(mean)} ± {fmt(std, 2)}" if np.isfinite(std) else fmt(mean)
    return {"text": text, "sort": repr(float(mean)) if np.isfinite(mean) else "", "cls": "best" if best else ""}


def _per_metric(table: ResultTable) -> str:
    out = []
    for m in table.metrics():
        agg = table.aggregate(m)
        agg = agg[agg["n_folds"] > 0]
        if agg.empty:
            continue
        gib = METRICS[m].greater_is_better
        mean = agg.pivot(index="task", columns="candidate", values="mean")
        std = agg.pivot(index="task", columns="candidate", values="std")
        cands = [c for c in table.candidates if c in mean.columns]
        rows = []
        for task in mean.index:
            vals = mean.loc[task, cands].astype(float)
            best = vals.max() if gib else vals.min()
            rows.append([{"text": esc(task)}] + [_cell_mean_std(vals[c], std.loc[task, c], np.isfinite(vals[c]) and vals[c] == best) for c in cands])
        arrow = "higher is better" if gib else "lower is better"
        out.append(f"<h3>{esc(m)} <span class=\"muted\">({arrow}; mean ± std over outer folds, best shaded)</span></h3>")
        out.append(_table(["task"] + cands, rows, sortable=True))
    return "".join(out) or "<p>No scores yet.</p>"


def _per_task(table: ResultTable) -> str:
    out = []
    for task, info in table.tasks.items():
        sub = table.df[table.df["task"] == task]
        desc = f"{esc(info.get('kind'))}, {info.get('n_rows')} rows, {info.get('n_features')} features ({info.get('n_categorical', 0)} categorical), tuning metric {esc(info.get('metric'))}, splits: {esc(info.get('split_strategy'))}"
        out.append(f"<h3>{esc(task)}</h3><p class=\"muted\">{desc}</p>")
        if sub.empty:
            out.append("<p>No results yet.</p>")
            continue
        metrics = [m for m in table.metrics() if f"test_{m}" in sub and sub[f"test_{m}"].notna().any()]
        rows = []
        bests = {}
        for m in metrics:
            means = sub[sub["state"] == "ok"].groupby("candidate")[f"test_{m}"].mean()
            bests[m] = (means.max() if METRICS[m].greater_is_better else means.min()) if len(means) else np.nan
        for cand, grp in sub.groupby("candidate", sort=False):
            ok = grp[grp["state"] == "ok"]
            row: list[Any] = [{"text": esc(cand)}]
            for m in metrics:
                v = ok[f"test_{m}"].astype(float)
                mean = v.mean() if len(v) else np.nan
                row.append(_cell_mean_std(mean, v.std(ddof=1) if len(v) > 1 else np.nan, np.isfinite(mean) and mean == bests[m]))
            row += [_num(ok["n_trials"].mean() if len(ok) else np.nan, 3), _num(ok["fit_seconds"].mean() if len(ok) else np.nan, 3),
                    {"text": str(int((grp["state"] != "ok").sum())), "cls": "fail" if (grp["state"] != "ok").any() else ""}]
            rows.append(row)
        out.append(_table(["candidate"] + [f"test {m}" for m in metrics] + ["trials / fold", "refit s", "failed folds"], rows, sortable=True))
    return "".join(out) or "<p>No tasks.</p>"


def _budget(table: ResultTable) -> str:
    df = table.df
    if df.empty:
        return "<p>No jobs yet.</p>"
    rows = []
    for cand, grp in df.groupby("candidate", sort=False):
        nt = grp["n_trials"].dropna() if "n_trials" in grp else pd.Series(dtype=float)
        rows.append([
            {"text": esc(cand)},
            {"text": str(len(grp))},
            {"text": f"{int(nt.min())}–{int(nt.max())}" if len(nt) and nt.min() != nt.max() else (str(int(nt.min())) if len(nt) else "–")},
            _num(float(nt.sum()) if len(nt) else np.nan, 6),
            _num(grp["n_failed_trials"].sum() if "n_failed_trials" in grp else np.nan, 6),
            _num(grp["tune_seconds"].sum() if "tune_seconds" in grp else np.nan, 4),
            _num(grp["fit_seconds"].mean() if "fit_seconds" in grp else np.nan, 3),
            _num(grp["predict_seconds"].mean() if "predict_seconds" in grp else np.nan, 3),
            _num(grp["cpu_seconds"].sum() if "cpu_seconds" in grp else np.nan, 4),
        ])
    note = '<p class="muted">Every candidate gets the same trial budget per outer fold; this table shows what each actually used. A candidate with nothing to tune runs one trial.</p>'
    return note + _table(["candidate", "jobs", "trials per fold", "trials total", "failed trials", "tuning s (total)", "refit s (mean)", "predict s (mean)", "CPU s (total)"], rows, sortable=True)


def _failures(table: ResultTable, records: list[dict[str, Any]]) -> str:
    failed = [r for r in records if r.get("type") == "job" and r.get("state") != "ok"]
    if not failed:
        return "<p>No job failed.</p>"
    items = []
    for r in failed[:200]:
        items.append(
            f"<details><summary><b>{esc(r.get('task'))}</b> / {esc(r.get('candidate'))} / fold {esc(r.get('fold'))}: "
            f"{esc(r.get('error', ''))}</summary><pre>{esc(r.get('traceback', ''))}</pre></details>"
        )
    more = f"<p>… and {len(failed) - 200} more in records.jsonl</p>" if len(failed) > 200 else ""
    return "<p>Failed jobs rank last on their task in the ranking.</p>" + "".join(items) + more


def _provenance(manifest: dict[str, Any]) -> str:
    versions = manifest.get("versions", {})
    machine = manifest.get("machine", {})
    kv = [("Commit", manifest.get("git_commit") or "not a git checkout"), ("Command", manifest.get("command", "")),
          ("Created", manifest.get("created", "")), ("Resumed", manifest.get("resumed", "–"))]
    kv += [(f"machine: {k}", v) for k, v in machine.items()]
    kv += [(k, v) for k, v in versions.items()]
    rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"mono\">{esc(v)}</td></tr>" for k, v in kv)
    tasks = [[{"text": esc(n)}, {"text": esc(t.get("source"))}, {"text": f'<span class="mono">{esc(str(t.get("data_hash"))[:16])}</span>'},
              {"text": f'<span class="mono">{esc(str(t.get("split_hash"))[:16])}</span>'}] for n, t in manifest.get("tasks", {}).items()]
    suite = json.dumps(manifest.get("suite", {}), indent=2, sort_keys=True, default=str)
    return (f'<table class="kv">{rows}</table>' + _table(["task", "source", "data hash", "split hash"], tasks)
            + f"<details><summary>Suite as run</summary><pre>{esc(suite)}</pre></details>")


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """Build the report from the run's stored records and write it (default: RUN_DIR/report.html)."""
    t0 = time.perf_counter()
    store = Store(run_dir)
    manifest = store.read_manifest()
    records = list(store.records())
    table = ResultTable.from_records(records, manifest)
    page = build_html(table, manifest, records=records)
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    log.info("report written to %s (%.0f kB, %.2f s)", path, path.stat().st_size / 1024, time.perf_counter() - t0)
    return path
