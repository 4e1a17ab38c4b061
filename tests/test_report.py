"""The HTML report: sections, escaping, self-containment, incomplete runs, curves, honesty of the text."""

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.config import parse_suite
from benchmark.report import build_html, write_report
from benchmark.report.analysis import analyse
from benchmark.report.palette import COLOURS, styles
from benchmark.results.store import Store
from benchmark.results.table import ResultTable
from benchmark.run.driver import run_suite

EVIL_TASK = "<script>alert('task')</script>"
EVIL_CAND = "<img src=x onerror=alert(1)>"
MATH_CAND = "knn $x_1$"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Two tasks (different metrics), a name with HTML on each axis, and a candidate that always fails."""
    raw = {
        "name": "report-test",
        "tasks": [{"name": EVIL_TASK, "dataset": "iris"}, {"dataset": "diabetes"}],
        "candidates": ["dummy", "linear", {"name": EVIL_CAND, "base": "knn"}, {"name": MATH_CAND, "base": "knn", "params": {"weights": "distance"}},
                       {"name": "broken", "base": "knn", "params": {"algorithm": "kd_tree", "metric": "cosine"}}],
        "trials": 3, "folds": 3, "inner": 2, "learning_curve": [0.3, 0.6, 1.0],
    }
    out = tmp_path_factory.mktemp("runs") / "report"
    run_suite(parse_suite(raw), out=out, progress=False)
    write_report(out)
    return out


@pytest.fixture(scope="module")
def page(run_dir):
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_every_section_is_there(page):
    for sid, heading in (("summary", "Summary"), ("leaderboard", "Leaderboard"), ("significance", "Ranking and significance"),
                         ("curves", "Data and budget"), ("tasks", "Per task"), ("fairness", "Fairness audit"),
                         ("failures", "Failures and missing results"), ("provenance", "Provenance")):
        assert f'<section id="{sid}"><h2>{heading}' in page
    assert "Conclusions" in page and "Critical-difference" in page and "Pairwise Wilcoxon" in page
    figures = re.findall(r'<figure class="fig[^"]*" data-figure="([^"]+)"', page)
    assert {"cd-diagram", "learning-summary", "budget-ranks"} <= set(figures)
    assert sum(f.startswith("learning-curves-") for f in figures) == 2
    assert sum(f.startswith("tuning-curves-") for f in figures) == 2
    assert f'data-figures="{len(figures)}"' in page
    assert "could not be drawn" not in page and "could not be built" not in page


def test_names_with_html_are_shown_as_text_never_run(page):
    assert EVIL_TASK not in page and EVIL_CAND not in page
    assert "&lt;script&gt;alert(&#x27;task&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the only script element is the report's own sorter
    assert page.count("<script") == 1
    # inside the SVG figures too (Matplotlib escapes text), and no mathtext: the dollar signs stay
    svgs = "".join(re.findall(r"<svg.*?</svg>", page, flags=re.S))
    assert "&lt;img src=x onerror=alert(1)&gt;" in svgs and "knn $x_1$" in svgs


def test_page_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\((?!#)", page), "CSS/SVG url() may only point inside the page"
    assert "@import" not in page and "<link" not in page and "<img" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith("#") for h in hrefs), [h for h in hrefs if not h.startswith("#")][:5]
    assert "http://www.w3.org" in page  # SVG namespaces are names, not requests
    assert not re.search(r"https?://(?!www\.w3\.org/)", page)


def test_svg_ids_are_unique_across_figures(page):
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for ref in set(re.findall(r'href="#([^"]+)"', page)) | set(re.findall(r"url\(#([^)]+)\)", page)):
        assert ref in ids or ref.startswith("task-") or ref in {"summary", "leaderboard", "significance", "curves", "tasks", "fairness", "failures", "provenance"}


def test_failures_and_policy_are_reported(page):
    assert "Failed jobs (6)" in page and "kd_tree" in page
    assert "ranks <b>last</b>" in page
    lb = page[page.index('id="leaderboard-table"'):]
    lb = lb[:lb.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", lb)
    last = rows[-1]
    assert "broken" in last, "a candidate whose every job failed ranks last"


def test_colours_are_consistent_per_candidate(run_dir, page):
    manifest = Store(run_dir).read_manifest()
    st = styles(manifest["order"]["candidates"])
    linear = st["linear"].colour
    assert f'background:{linear}' in page
    summary_svg = page[page.index('data-figure="learning-summary"'):]
    summary_svg = summary_svg[:summary_svg.index("</svg>")]
    assert f"stroke: {linear.lower()}" in summary_svg.lower()
    assert len(set(COLOURS)) == len(COLOURS) >= 12


def test_the_text_claims_only_what_the_tests_support(page):
    summary = page[page.index('<section id="summary">'):page.index('<section id="leaderboard">')]
    assert "not</b> significantly better than" in summary  # three tasks cannot separate anything
    assert "no Wilcoxon test can reach" in summary
    assert "Descriptive" in summary
    assert "across the two tasks" not in summary
    sig = page[page.index('<section id="significance">'):page.index('<section id="curves">')]
    assert "normalised scores" in sig and "different metrics" in sig  # says which block the tests used


def test_per_task_table_marks_best_and_not_significantly_worse(run_dir, page):
    task = page[page.index('id="task-2"'):]
    task = task[:task.index("</table>")]
    assert task.count('class="best"') == 3  # rmse, mae and r2 each have one best
    assert 'class="tie"' in task or "significantly worse" in task
    # the best cell of the tuning metric is linear's (ridge beats the mean on diabetes)
    table = ResultTable.from_run(run_dir)
    means = table.ok[table.ok.task == "diabetes"].groupby("candidate")["test_rmse"].mean()
    assert means.idxmin() == "linear"
    row = re.search(r"<tr><td class=\"name\"[^>]*>.*?linear</td>(.*?)</tr>", task).group(1)
    assert 'class="best"' in row.split("</td>")[0]


def test_report_rebuilds_from_records_and_works_on_an_incomplete_run(run_dir, tmp_path):
    from benchmark.cli import main

    part = tmp_path / "part"
    shutil.copytree(run_dir, part)
    (part / "report.html").unlink()
    lines = (part / "records.jsonl").read_bytes().splitlines(keepends=True)
    (part / "records.jsonl").write_bytes(b"".join(lines[:7]) + lines[7][:40])  # and a torn last line
    assert main(["report", str(part), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "incomplete run" in html and "Missing results (" in html and "--resume" in html
    expected = 2 * 5 * 3
    assert f"of {expected} jobs" in html
    # only the manifest: still a page, saying there is nothing yet
    (part / "records.jsonl").write_bytes(b"")
    html = build_html(ResultTable.from_run(part), Store(part).read_manifest(), records=[])
    assert "No completed jobs yet" in html and "could not be built" not in html


def test_epoch_history_is_drawn_when_present(run_dir, tmp_path):
    store = Store(run_dir)
    records = list(store.records())
    for r in records:
        if r.get("candidate") == "linear" and r.get("task") == "diabetes":
            r["epoch_history"] = [{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.2 / e + 0.01 * e} for e in range(1, 21)]
    html = build_html(ResultTable.from_records(records, store.read_manifest()), store.read_manifest(), records=records)
    assert 'data-figure="epochs-diabetes"' in html and "validation loss" in html
    assert 'data-figure="epochs-' + "&lt;" not in html  # only the task that has histories


def test_gpu_seconds_get_a_column_only_when_used(run_dir, page):
    fair = page[page.index('<section id="fairness">'):page.index('<section id="failures">')]
    assert "GPU s" not in fair
    store = Store(run_dir)
    records = list(store.records())
    for r in records:
        if r.get("candidate") == "linear":
            r["gpu_seconds"] = 1.5
    html = build_html(ResultTable.from_records(records, store.read_manifest()), store.read_manifest(), records=records)
    fair = html[html.index('<section id="fairness">'):html.index('<section id="failures">')]
    assert "GPU s" in fair and 'data-v="9.0"' in fair  # 6 jobs × 1.5 s


def test_boosting_rounds_get_a_column_only_when_recorded(run_dir, page):
    fair = page[page.index('<section id="fairness">'):page.index('<section id="failures">')]
    assert ">rounds<" not in fair
    store = Store(run_dir)
    records = list(store.records())
    for i, r in enumerate(x for x in records if x.get("candidate") == "linear" and x.get("state") == "ok"):
        r["rounds"] = 100 + 100 * (i % 2)
        r["trials"][0]["rounds"] = [7, 4321]
    html = build_html(ResultTable.from_records(records, store.read_manifest()), store.read_manifest(), records=records)
    fair = html[html.index('<section id="fairness">'):html.index('<section id="failures">')]
    assert ">rounds<" in fair and 'title="7–4321 rounds over every fit"' in fair


def test_budget_ranks_in_the_report_match_the_leaderboard(run_dir):
    store = Store(run_dir)
    records = list(store.records())
    a = analyse(ResultTable.from_records(records, store.read_manifest()), store.read_manifest(), records)
    full = a.budget[a.budget.budget == a.budget.budget.max()].set_index("candidate")["mean_rank"]
    for c, r in a.mean_ranks().items():
        assert full[c] == pytest.approx(r), c
    assert a.test_block_kind == "normalised" and a.rank is not None
    assert a.groups()["linear"]  # every candidate gets a group letter


def test_single_task_report_uses_the_per_task_tests(tmp_path):
    from benchmark import compare

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=150) > 0).astype(int)
    res = compare(X, y, candidates=["dummy", "linear"], trials=2, folds=3, inner=2, out=tmp_path / "r")
    html = (res.run_dir / "report.html").read_text(encoding="utf-8")
    assert "No tests across tasks" in html and "corrected resampled t-test" in html
    assert ">best<" in html and ">worse<" in html  # the leaderboard groups come from the per-task test


def test_report_is_small_and_quick(run_dir):
    t0 = time.perf_counter()
    path = write_report(run_dir, out=run_dir / "again.html")
    assert time.perf_counter() - t0 < 30
    assert path.stat().st_size < 1_000_000
    assert "@media print" in path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_quick_suite_report_stays_under_a_few_megabytes(tmp_path):
    """The report `make bench SUITE=quick` writes: every figure, under 3 MB, rebuilt in seconds."""
    from benchmark.config import load_suite

    suite = load_suite(Path(__file__).resolve().parent.parent / "suites" / "quick.yaml")
    res = run_suite(suite, out=tmp_path / "quick", jobs=2, progress=False)
    report = write_report(res.run_dir)
    page = report.read_text(encoding="utf-8")
    assert report.stat().st_size < 3_000_000
    figures = re.findall(r'data-figure="([^"]+)"', page)
    assert len([f for f in figures if f.startswith("learning-curves-")]) == 3
    assert len([f for f in figures if f.startswith("tuning-curves-")]) == 3
    t0 = time.perf_counter()
    write_report(res.run_dir, out=tmp_path / "again.html")
    assert time.perf_counter() - t0 < 60
    recs = [json.loads(x) for x in (res.run_dir / "records.jsonl").read_text().splitlines()]
    assert all(r["learning_curve"] and r["budget_curve"] for r in recs if not r.get("post_hoc"))


def test_unit_bound_metrics_are_normalised_before_tests_across_tasks():
    """RMSE on two datasets is in two units: the across-task tests use per-task normalised scores."""
    rng = np.random.default_rng(0)
    records = []
    for task, scale in (("small", 1.0), ("large", 1000.0)):
        for c, base in (("a", 1.0), ("b", 1.2), ("c", 1.5)):
            for fold in range(2):
                records.append({"type": "job", "key": f"{task}{c}{fold}", "task": task, "candidate": c, "fold": fold, "state": "ok",
                                "metric": "rmse", "n_train": 50, "n_test": 50, "n_trials": 1,
                                "test_rmse": scale * (base + 0.01 * rng.normal()), "test_mae": scale * base})
    manifest = {"suite": {"name": "units", "folds": 2, "trials": 1}, "order": {"tasks": ["small", "large"], "candidates": ["a", "b", "c"]},
                "tasks": {t: {"metric": "rmse", "kind": "regression"} for t in ("small", "large")}}
    table = ResultTable.from_records(records, manifest)
    a = analyse(table, manifest, records)
    assert a.test_block_kind == "normalised" and "units" in a.test_block_reason
    assert list(a.mean_ranks()) == ["a", "b", "c"]
    html = build_html(table, manifest, records=records)
    assert "rmse (mean" not in html  # no mean RMSE over tasks in the leaderboard
    assert "could not be built" not in html
