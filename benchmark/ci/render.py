"""The outputs of ``bench regress``: a terminal report, a pull-request comment (Markdown) and JUnit XML.

Each renderer reads only a :class:`~benchmark.ci.result.RegressionResult`; numbers go through the
report's plain-text formatters (:mod:`benchmark.report.markup`).  :func:`error_markdown` and
:func:`error_junit` say that a comparison could not be made (exit code 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from benchmark.report.markup import fixed, p_text, seconds_text

if TYPE_CHECKING:
    from benchmark.ci.result import Comparison, Finding, RegressionResult

TIME_LABELS = {"cpu_seconds": "CPU s", "fit_seconds": "fit s", "tune_seconds": "tune s", "total_seconds": "wall s"}


def _verdict(c: Comparison) -> str:
    bad = [k for k, s in (("score", c.score_status), ("time", c.time_status)) if s == "regression"]
    if c.new_failures or c.missing_folds:
        bad.append("failures")
    if bad:
        return "REGRESSION (" + ", ".join(bad) + ")"
    good = [k for k, s in (("score", c.score_status), ("time", c.time_status)) if s == "improvement"]
    if c.fixed:
        good.append("fixed")
    if good:
        return "improved (" + ", ".join(good) + ")"
    if c.time_status == "warning":
        return "ok (slower: warning)"
    return "untested" if c.score_status == "untested" else "ok"


def _rule_text(r: RegressionResult) -> str:
    o = r.options
    n = sum(c.score_status != "untested" for c in r.comparisons)
    return (f"regression = drop > tolerance {o.tolerance.describe()} and one-sided corrected t-test p < {o.alpha:g} "
            f"(Holm over {n} comparisons); time: median {o.time_field} > ×{o.time_ratio:g} and > +{o.time_floor:g} s "
            f"({'checked' if r.times_mode == 'fail' else 'warning only' if r.times_mode == 'warn' else 'not checked'})")


def _head(r: RegressionResult) -> tuple[str, str]:
    def side(d: Mapping[str, Any]) -> str:
        commit = f"commit {str(d.get('commit'))[:12]}" if d.get("commit") else "no commit"
        return f"{d.get('source')} ({commit}, {d.get('created') or 'unknown date'})"

    return side(r.baseline), side(r.current)


def _table_rows(r: RegressionResult) -> list[list[str]]:
    rows = []
    for c in r.comparisons:
        fails = ""
        if c.new_failures or c.missing_folds or c.fixed or c.still_failing:
            fails = f"+{c.new_failures + c.missing_folds}/-{c.fixed}/={c.still_failing}"
        rows.append([c.task, c.candidate, c.metric, fixed(c.baseline_mean), fixed(c.current_mean),
                     fixed(c.delta, sign=True),
                     p_text(c.p_worse_holm if c.gain <= 0 else c.p_better_holm),
                     f"{seconds_text(c.baseline_time)} → {seconds_text(c.current_time)}", fails or "–", _verdict(c)])
    return rows


def _header(r: RegressionResult) -> list[str]:
    return ["task", "candidate", "metric", "baseline", "current", "change", "p (Holm)", TIME_LABELS[r.options.time_field], "failures", "verdict"]


def render_text(r: RegressionResult) -> str:
    """A terminal report: what was compared, the table, then regressions/improvements/warnings."""
    base, cur = _head(r)
    lines = [f"baseline: {base}", f"run:      {cur}", f"rule:     {_rule_text(r)}"]
    lines += [f"context:  {c}" for c in r.context]
    lines += [f"note:     {n}" for n in r.notes]
    lines.append("")
    rows = _table_rows(r)
    if rows:
        header = _header(r)
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        right = {3, 4, 5, 6}
        def fmt_row(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
        lines.append(fmt_row(header))
        lines.append("  ".join("-" * w for w in widths))
        lines += [fmt_row(row) for row in rows]
        lines.append("")
    for title, items in (("REGRESSIONS", r.regressions), ("Improvements", r.improvements), ("Warnings", r.warnings),
                         ("Info", tuple(f for f in r.findings if f.status == "info"))):
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  - [{f.kind}] {f.where}: {f.message}" for f in items]
    verdict = (f"RESULT: FAIL: {len(r.regressions)} regression(s) (exit code 1)" if r.exit_code
               else f"RESULT: PASS: no regression ({len(r.improvements)} improvement(s), {len(r.warnings)} warning(s))")
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    """Escape text for a Markdown table cell (and neutralise HTML)."""
    import html

    s = html.escape(str(text), quote=False)
    for ch in "\\`*_[]|#":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def render_markdown(r: RegressionResult) -> str:
    """A pull-request comment: verdict, regressions, improvements, warnings, the full table
    in a collapsed ``<details>`` block, the rule and the context."""
    base, cur = _head(r)
    icon = "❌" if r.exit_code else "✅"
    title = (f"{len(r.regressions)} regression(s)" if r.exit_code else "no regression")
    out = [f"### {icon} Benchmark regression check: {title}", "",
           f"Baseline: {_md(base)}  ", f"Run: {_md(cur)}", ""]
    for heading, items in (("Regressions", r.regressions), ("Improvements", r.improvements), ("Warnings", r.warnings)):
        if items:
            out += [f"**{heading} ({len(items)})**", "", "| where | what | details |", "|---|---|---|"]
            out += [f"| {_md(f.where)} | {f.kind} | {_md(f.message)} |" for f in items]
            out.append("")
    if not r.regressions and not r.improvements:
        out += ["No significant change beyond the tolerance.", ""]
    rows = _table_rows(r)
    if rows:
        header = _header(r)
        out += ["<details><summary>All comparisons</summary>", "", "| " + " | ".join(header) + " |",
                "|" + "|".join("---:" if i in (3, 4, 5, 6) else "---" for i in range(len(header))) + "|"]
        out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        out += ["", "</details>", ""]
    info = [f for f in r.findings if f.status == "info"]
    if info:
        out += ["**Info**", ""] + [f"- {_md(f.where)}: {_md(f.message)}" for f in info] + [""]
    out.append(f"<sub>Rule: {_md(_rule_text(r))}.</sub>")
    if r.context or r.notes:
        out += ["", "<sub>Context: " + _md("; ".join([*r.context, *r.notes])) + "</sub>"]
    return "\n".join(out) + "\n"


#: Characters XML 1.0 forbids anywhere in a document (C0 controls but tab/LF/CR, lone
#: surrogates, U+FFFE/U+FFFF); an error text from a failed fit can hold them (ESC colour codes, NUL).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids written out as ``\\xNN`` / ``\\uNNNN``
    (visible, and the document stays well-formed for every JUnit reader)."""
    return _XML_FORBIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def render_junit(r: RegressionResult) -> str:
    """JUnit XML: one test case per score, time and failure check of each task × candidate,
    plus one per missing or new candidate/task; every regression is a ``<failure>``, untested or
    new items are ``<skipped>``, improvements and warnings are in ``<system-out>``."""
    import xml.etree.ElementTree as ET

    cases: list[ET.Element] = []

    def case(classname: str, name: str, *, failure: str | None = None, skipped: str | None = None, out: str | None = None, kind: str = "") -> None:
        el = ET.Element("testcase", {"classname": classname, "name": name, "time": "0"})
        if failure is not None:
            f = ET.SubElement(el, "failure", {"message": failure, "type": f"{kind} regression"})
            f.text = failure
        elif skipped is not None:
            ET.SubElement(el, "skipped", {"message": skipped})
        if out:
            ET.SubElement(el, "system-out").text = out
        cases.append(el)

    by_cell: dict[tuple[str, str | None, str], list[Finding]] = {}
    for f in r.findings:
        by_cell.setdefault((f.task, f.candidate, f.kind), []).append(f)

    def msg(task: str, cand: str | None, kind: str, status: str) -> str | None:
        found = [f.message for f in by_cell.get((task, cand, kind), []) if f.status == status]
        return "; ".join(found) if found else None

    for c in r.comparisons:
        cls = f"bench.{c.task}"
        detail = f"{c.metric} {fixed(c.baseline_mean)} → {fixed(c.current_mean)} ({c.delta:+.4f}), p_holm worse {p_text(c.p_worse_holm)}, better {p_text(c.p_better_holm)}"
        case(cls, f"{c.candidate}: {c.metric}", kind="score", failure=msg(c.task, c.candidate, "score", "regression"),
             skipped=msg(c.task, c.candidate, "score", "info"),
             out=("improved: " + (msg(c.task, c.candidate, "score", "improvement") or "")) if c.score_status == "improvement" else detail)
        if c.time_status != "off":
            extra = msg(c.task, c.candidate, "time", "warning") or msg(c.task, c.candidate, "time", "improvement")
            case(cls, f"{c.candidate}: {r.options.time_field}", kind="time", failure=msg(c.task, c.candidate, "time", "regression"),
                 skipped=f"no {r.options.time_field} recorded" if c.time_status == "untested" else None,
                 out=extra or f"median {r.options.time_field} {seconds_text(c.baseline_time)} s → {seconds_text(c.current_time)} s")
        case(cls, f"{c.candidate}: failures", kind="failure", failure=msg(c.task, c.candidate, "failure", "regression"),
             out=msg(c.task, c.candidate, "failure", "improvement") or msg(c.task, c.candidate, "failure", "info"))
    for f in r.findings:
        if f.kind == "missing":
            name = f"{f.candidate}: present" if f.candidate else "task present"
            if f.status == "regression":
                case(f"bench.{f.task}", name, kind="missing", failure=f.message)
            else:
                case(f"bench.{f.task}", name, skipped=f.message)
        elif f.kind == "new":
            case(f"bench.{f.task}", f"{f.candidate}: present" if f.candidate else "task present", skipped=f.message)
    n_fail = sum(1 for el in cases if el.find("failure") is not None)
    n_skip = sum(1 for el in cases if el.find("skipped") is not None)
    attrs = {"name": "bench regress", "tests": str(len(cases)), "failures": str(n_fail), "errors": "0", "skipped": str(n_skip)}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "name": f"bench regress {r.current.get('suite') or ''}".strip(),
                                              "timestamp": str(r.current.get("created") or "")})
    props = ET.SubElement(suite, "properties")
    for k, v in (("baseline", r.baseline.get("source")), ("baseline_commit", r.baseline.get("commit")),
                 ("run", r.current.get("source")), ("run_commit", r.current.get("commit")), ("rule", _rule_text(r))):
        ET.SubElement(props, "property", {"name": k, "value": str(v)})
    suite.extend(cases)
    summary = [f"{f.status}: [{f.kind}] {f.where}: {f.message}" for f in r.findings if f.status in ("improvement", "warning")]
    summary += [f"context: {c}" for c in r.context]
    if summary:
        ET.SubElement(suite, "system-out").text = "\n".join(summary)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml_safe(ET.tostring(root, encoding="unicode")) + "\n"


def error_markdown(message: str) -> str:
    """A PR comment for a comparison that could not be made (exit code 2)."""
    return f"### ⚠️ Benchmark regression check: not comparable\n\n{_md(message)}\n"


def error_junit(message: str) -> str:
    """JUnit XML with one ``<error>`` test case (exit code 2)."""
    import xml.etree.ElementTree as ET

    attrs = {"name": "bench regress", "tests": "1", "failures": "0", "errors": "1", "skipped": "0"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    case = ET.SubElement(suite, "testcase", {"classname": "bench", "name": "comparable with the baseline", "time": "0"})
    ET.SubElement(case, "error", {"message": message, "type": "not comparable"}).text = message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml_safe(ET.tostring(root, encoding="unicode")) + "\n"
