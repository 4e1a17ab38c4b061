"""Render a run to one self-contained HTML page: inline CSS, a few lines of JS, inline SVG figures.

``write_report(run_dir)`` rebuilds the page from the stored records (nothing is refitted, so a
statistics or layout change applies to old runs, and an incomplete run shows what it has and
what is missing).  Every name that came from a user goes through ``html.escape``; the page
references no external URL, so it opens offline and can be mailed or archived as it is.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from benchmark.report import diagnostic_sections, sections
from benchmark.report.analysis import analyse
from benchmark.report.markup import esc
from benchmark.report.palette import styles as make_styles
from benchmark.results.store import Store
from benchmark.results.table import ResultTable
from benchmark.serialize import write_text_atomic

log = logging.getLogger(__name__)

_CSS = """
:root{--fg:#1d2329;--muted:#5b6670;--line:#dfe4e8;--soft:#f5f7f9;--bg:#fff;--accent:#0b5cad;--best:#cfe8d5;--tie:#eaf5ec;--bad:#fbe4e4;--warn:#fff3d6}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main,header.top{max-width:1180px;margin:0 auto;padding:0 28px}
header.top{padding-top:28px}
h1{font-size:26px;margin:0 0 2px;letter-spacing:-.01em}
h2{font-size:20px;margin:40px 0 10px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:15.5px;margin:26px 0 6px}
.muted,.note{color:var(--muted)}.note{font-size:13px;margin:6px 0 10px;max-width:80em}
nav.toc{position:sticky;top:0;z-index:5;background:rgba(255,255,255,.96);border-bottom:1px solid var(--line);backdrop-filter:blur(4px)}
nav.toc div{max-width:1180px;margin:0 auto;padding:8px 28px;display:flex;flex-wrap:wrap;gap:4px 18px}
nav a{color:var(--accent);text-decoration:none;font-size:13.5px}nav a:hover{text-decoration:underline}
.tasknav{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:12px 0 8px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--soft)}
.card .k{font-size:11.5px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.card .v{font-size:20px;font-weight:650;margin:2px 0;word-break:break-word}.card .s{font-size:12.5px;color:var(--muted)}
.card:first-child{grid-column:span 2;background:#eef5fb;border-color:#c9dcee}
ul.conclusions{margin:6px 0;padding-left:20px;max-width:80em}ul.conclusions li{margin:4px 0}
ul.verdict{list-style:none;padding:0;margin:8px 0 12px}ul.verdict li{margin:3px 0}
.tablewrap{overflow-x:auto;margin:8px 0 14px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 9px;text-align:right;vertical-align:top;white-space:nowrap}
thead th{white-space:normal;vertical-align:bottom;min-width:3.5em}td.text{text-align:left;white-space:normal;min-width:18em}table.scores td{white-space:normal}table.scores span.sd{white-space:nowrap}thead th.text{text-align:left}
th:first-child,td:first-child,td.name,th.name{text-align:left}
thead th{background:var(--soft);font-weight:600;position:sticky;top:0;border-bottom:1px solid #c9d1d8}
tbody tr:hover td{background-color:#f7fafc}
th.sortable{cursor:pointer;user-select:none}th.sortable:hover{background:#e9eef2}
th.sortable:after{content:"\\2195";color:#a2adb7;font-size:11px;margin-left:4px}
th[aria-sort=ascending]:after{content:"\\25B2";color:var(--accent)}th[aria-sort=descending]:after{content:"\\25BC";color:var(--accent)}
td.best{background:var(--best);font-weight:650}td.tie{background:var(--tie)}td.fail{background:var(--bad)}td.warn{background:var(--warn)}
td.sig{font-weight:650}td.grp{text-align:center;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.08em}
span.sd{color:var(--muted);font-size:12px}.key{padding:0 5px;border-radius:3px}.key.best{background:var(--best);font-weight:650}.key.tie{background:var(--tie)}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
table.kv th{text-align:left;color:var(--muted);font-weight:500;background:none;position:static;border-bottom:1px solid var(--line);padding-right:22px}
table.kv td{text-align:left;white-space:normal}
table.heatmap td{text-align:center;min-width:0;padding:3px 2px;font-size:11.5px;border:1px solid #fff}table.heatmap td.diag{color:#b4bcc4}
table.heatmap th.vert{vertical-align:bottom;padding:4px 2px;background:none;position:static}
table.heatmap th.vert span{writing-mode:vertical-rl;transform:rotate(180deg);display:inline-block;max-height:160px;overflow:hidden;text-overflow:ellipsis}
.hm-legend{font-size:12.5px;color:var(--muted)}.chip{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin:0 3px 0 10px}
figure.fig{margin:14px 0 20px;break-inside:avoid}figure.fig .svg{overflow-x:auto}
figure.fig svg{max-width:100%;height:auto;display:block}
figcaption{font-size:12.5px;color:var(--muted);max-width:78em;margin-top:4px}
.figrow{display:grid;grid-template-columns:repeat(auto-fit,minmax(430px,1fr));gap:6px 28px;align-items:start}
article.task{border-top:1px dashed var(--line);margin-top:18px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
details{margin:6px 0}summary{cursor:pointer;color:var(--accent)}
pre{white-space:pre-wrap;background:var(--soft);padding:8px 10px;border-radius:4px;font-size:12px;max-height:420px;overflow:auto}
.err{color:#9b1c1c}.where{font-size:12.5px;color:var(--muted);margin:4px 0 4px 18px}
#failures summary{color:var(--fg)}
footer{max-width:1180px;margin:40px auto 30px;padding:0 28px;color:var(--muted);font-size:12px}
.tag{font-size:10.5px;font-weight:600;color:#7a4b00;background:var(--warn);border:1px solid #ecd49a;border-radius:3px;padding:0 4px;margin-left:5px;vertical-align:1px;white-space:nowrap}
.lowpower{color:#8a5a00;font-size:11.5px;white-space:nowrap;cursor:help}p.power{border-left:3px solid #ecd49a;padding-left:8px}
.mono{overflow-wrap:anywhere;word-break:break-all}
@media (max-width:700px){main,header.top,footer{padding:0 12px}nav.toc div{padding:6px 12px}.card:first-child{grid-column:auto}
 .cards{grid-template-columns:1fr}.figrow{grid-template-columns:minmax(0,1fr)}.figrow>*,figure.fig{min-width:0}td.text{min-width:12em}
 figure.fig svg{min-width:600px;max-width:none}h1{font-size:21px;overflow-wrap:anywhere}table.kv th,table.kv td{white-space:normal;overflow-wrap:anywhere}}
@page{size:A4 landscape;margin:10mm}
@media print{nav.toc,.tasknav{display:none}main,header.top,footer{max-width:none;padding:0}thead th{position:static}
 h2,h3{break-after:avoid}figure.fig,tr{break-inside:avoid}details>summary{color:var(--fg)}
 details::details-content{content-visibility:visible;display:contents}
 body{font-size:10px}table{font-size:8.5px;width:100%}span.sd,.lowpower,.tag{font-size:inherit}.note,figcaption,.card .s,ul.conclusions{font-size:9.5px}
 .card .v{font-size:15px}h1{font-size:20px}h2{font-size:16px;margin-top:22px}th,td{padding:2px 3px;white-space:normal}thead th{min-width:0}td.text{min-width:0}
 .tablewrap,figure.fig .svg,pre{overflow:visible!important;max-height:none}figure.fig svg{max-width:100%!important;min-width:0!important}
 table.heatmap td{min-width:0;padding:1px}th.sortable:after,th[aria-sort]:after{content:none!important}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# Sortable tables: click (or Enter on) a header; numbers sort by data-v, missing values last.
_JS = """
(function(){
function key(c){var v=c.getAttribute('data-v');return v===null?c.textContent.trim():v;}
function sortBy(t,th,i){
  var asc=th.getAttribute('aria-sort')!=='ascending',body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  rows.sort(function(a,b){
    var x=key(a.cells[i]),y=key(b.cells[i]);
    if(x===''&&y==='')return 0;if(x==='')return 1;if(y==='')return -1;
    var nx=parseFloat(x),ny=parseFloat(y),c=(!isNaN(nx)&&!isNaN(ny)&&isFinite(x)&&isFinite(y))?nx-ny:x.localeCompare(y);
    return asc?c:-c;});
  rows.forEach(function(r){body.appendChild(r);});
}
window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('thead th').forEach(function(th,i){
    th.classList.add('sortable');th.tabIndex=0;
    th.addEventListener('click',function(){sortBy(t,th,i);});
    th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sortBy(t,th,i);}});
  });
});
})();
"""

SECTIONS = (
    ("summary", "Summary", sections.summary),
    ("leaderboard", "Leaderboard", sections.leaderboard),
    ("significance", "Ranking and significance", sections.significance),
    ("tradeoff", "Accuracy and cost", diagnostic_sections.tradeoff),
    ("curves", "Data and budget", sections.curves_overview),
    ("tasks", "Per task", sections.per_task),
    ("fairness", "Fairness audit: budget and cost", sections.fairness),
    ("failures", "Failures and missing results", diagnostic_sections.failures),
    ("provenance", "Provenance", sections.provenance),
)


def build_html(table: ResultTable, manifest: dict[str, Any], *, records: list[dict[str, Any]] | None = None) -> str:
    """The whole page as a string (sections listed in ``SECTIONS``)."""
    records = records or []
    a = analyse(table, manifest, records)
    styles = make_styles(a.candidates)
    suite = manifest.get("suite", {})
    single = len(a.tasks) == 1
    title = f"Model comparison — {a.tasks[0]}" if single else f"Benchmark report — {suite.get('name', 'run')}"
    body = []
    for sid, name, render in SECTIONS:
        try:
            content = render(a, styles)
        except Exception as exc:  # one broken section must not cost the others
            log.exception("report section %s failed", sid)
            content = f'<p class="note">This section could not be built: {esc(type(exc).__name__)}: {esc(exc)}</p>'
        body.append(f'<section id="{sid}"><h2>{esc(name)}</h2>{content}</section>')
    nav = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, _ in SECTIONS)
    n_figs = sum(part.count('<figure class="fig') for part in body)
    status = "incomplete run" if a.missing_jobs else "complete run"
    sub = (f"{esc(len(a.tasks))} task{'' if single else 's'} × {esc(len(a.candidates))} candidates · {status} · created {esc(manifest.get('created', ''))}"
           + (f" · resumed {esc(manifest['resumed'])}" if manifest.get("resumed") else ""))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="benchmark report"><title>{esc(title)}</title><style>{_CSS}</style></head>'
        f'<body data-figures="{n_figs}"><header class="top"><h1>{esc(title)}</h1><p class="muted">{sub}</p></header>'
        f'<nav class="toc" aria-label="Sections"><div>{nav}</div></nav><main>{"".join(body)}</main>'
        f'<footer>Built from {esc(len(records))} stored records by <code>bench report</code>; nothing was refitted. '
        "Self-contained: no external resources.</footer>"
        f"<script>{_JS}</script></body></html>"
    )


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """Build the report from the run's stored records and write it (default: RUN_DIR/report.html)."""
    t0 = time.perf_counter()
    store = Store(run_dir)
    manifest = store.read_manifest()
    records = list(store.records())
    table = ResultTable.from_records(records, manifest)
    page = build_html(table, manifest, records=records)
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    write_text_atomic(path, page)
    log.info("report written to %s (%.0f kB, %.2f s)", path, path.stat().st_size / 1024, time.perf_counter() - t0)
    return path
