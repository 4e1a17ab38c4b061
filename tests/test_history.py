"""Run history: the history file, trends, significant-change marks and the HTML page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import benchmark.ci as regress
from benchmark.ci import history
from benchmark.ci.snapshot import Snapshot
from benchmark.config import parse_suite
from benchmark.errors import InputError
from benchmark.run.driver import run_suite

ROOT = Path(__file__).resolve().parent.parent
BASE = [0.90, 0.85, 0.93, 0.88, 0.91]


def _bench(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def snap(cells: dict, *, commit: str, created: str, split: str = "s", fits: dict | None = None, label: str | None = None) -> Snapshot:
    rows = []
    for cand, scores in cells.items():
        fit = (fits or {}).get(cand, 0.2)
        for fold, s in enumerate(scores):
            rows.append({"task": "t<1>", "candidate": cand, "fold": fold, "repeat": 0, "state": "ok", "error": None,
                         "fold_hash": f"{split}{fold}", "n_train": 400, "n_test": 100, "fit_seconds": fit, "cpu_seconds": fit,
                         "predict_seconds": 0.01, "scores": {"roc_auc": float(s)}})
    meta = {"suite_name": "syn", "git_commit": commit, "created": created, "versions": {}, "label": label,
            "machine": {"platform": "Linux", "processor": "x86_64", "cpu_count": 2, "memory_gib": 8},
            "protocol": {"folds": 5, "repeats": 1, "inner": 2, "seed": 0}, "candidates": {}, "candidate_order": list(cells)}
    tasks = {"t<1>": {"data_hash": "d", "split_hash": split, "kind": "binary", "metric": "roc_auc", "n_rows": 500}}
    return Snapshot(f"run-{commit}", meta, tasks, tuple(rows))


def _series() -> list[Snapshot]:
    drop = list(np.array(BASE) - 0.05 + 0.003 * np.arange(5))
    return [
        snap({"good": BASE, "<b>x&y</b>": BASE}, commit="c1" * 20, created="2026-01-01T00:00:00"),
        snap({"good": BASE, "<b>x&y</b>": BASE}, commit="c2" * 20, created="2026-01-02T00:00:00"),
        snap({"good": drop, "<b>x&y</b>": BASE}, commit="c3" * 20, created="2026-01-03T00:00:00", fits={"good": 0.9}),
        snap({"good": drop, "<b>x&y</b>": BASE}, commit="c4" * 20, created="2026-01-04T00:00:00", split="other"),
    ]


def test_build_history_marks_significant_changes_and_breaks():
    hist = history.build_history(_series())
    assert hist.labels == ("c1c1c1c", "c2c2c2c", "c3c3c3c", "c4c4c4c")
    assert hist.steps[0].result is None and hist.steps[1].result.exit_code == 0
    assert hist.steps[2].result.exit_code == 1
    assert set(hist.marks("t<1>", "good")) == {(2, "score", "regression"), (2, "time", "regression")}
    assert hist.marks("t<1>", "<b>x&y</b>") == []
    assert hist.breaks() == [3] and "split hash" in hist.steps[3].incomparable
    s = hist.series("t<1>", "good")
    assert s["mean"][0] == pytest.approx(np.mean(BASE)) and s["time"][2] == 0.9
    assert [f.candidate for _, f in hist.changes()] == ["good", "good"]


def test_newest_run_per_commit_wins():
    runs = _series()[:2]
    rerun = snap({"good": BASE}, commit="c1" * 20, created="2026-01-05T00:00:00")
    hist = history.build_history([*runs, rerun])
    assert hist.superseded == 1 and hist.labels == ("c2c2c2c", "c1c1c1c")


def test_page_is_self_contained_and_escaped():
    page = history.render_page(history.build_history(_series()))
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "<b>x&y</b>" not in page and "&lt;b&gt;x&amp;y&lt;/b&gt;" in page
    assert "t&lt;1&gt;" in page and "<script" not in page
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert external == [] and "@import" not in page and not re.search(r"url\((?!#)", page)  # only in-page references
    assert "regression" in page and "not comparable" in page


def test_history_file_append_keep_and_errors(tmp_path):
    suite = parse_suite({"name": "h", "folds": 3, "inner": 2, "trials": 1, "tasks": ["iris"], "candidates": ["dummy", "linear"]})
    run = tmp_path / "run"
    run_suite(suite, out=run, jobs=1, progress=False)
    f = tmp_path / "h" / "history.jsonl"
    assert history.append(run, f, commit="aaa", label="main") == 1
    assert history.append(run, f, commit="bbb") == 2
    assert history.append(run, f, commit="ccc", keep=2) == 2
    lines = f.read_text().splitlines()
    assert [json.loads(x)["meta"]["git_commit"] for x in lines] == ["bbb", "ccc"]
    runs = history.load_history([f, run])
    assert len(runs) == 3 and runs[0].source.endswith("line 1")
    hist = history.build_history(runs)
    assert all(s.result is None or s.result.exit_code == 0 for s in hist.steps)
    f.write_text(lines[0] + "\n{broken\n")
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        history.load_history([f])
    with pytest.raises(InputError, match="no such file"):
        history.load_history([tmp_path / "missing.jsonl"])
    baseline = regress.write_baseline(regress.snapshot_from_run(run), tmp_path / "b.json")
    assert len(history.load_history([baseline])) == 1


def test_cli_history_append_and_show(tmp_path):
    suite = parse_suite({"name": "h", "folds": 3, "inner": 2, "trials": 1, "tasks": ["iris"], "candidates": ["dummy", "knn"]})
    runs = []
    for i in range(2):
        out = tmp_path / f"r{i}"
        run_suite(suite.with_overrides(model_seed=i), out=out, jobs=1, progress=False)
        runs.append(out)
    hfile = tmp_path / "history.jsonl"
    for i, r in enumerate(runs):
        res = _bench("history", "append", str(r), "--file", str(hfile), "--commit", f"{i}" * 40)
        assert res.returncode == 0 and f"({i + 1} run(s))" in res.stdout, res.stderr
    page = tmp_path / "out" / "h.html"
    res = _bench("history", "show", str(hfile), "--out", str(page))
    assert res.returncode == 0, res.stderr
    html = page.read_text()
    assert "<svg" in html and "0000000" in html and "1111111" in html
    res = _bench("history", "show", *map(str, runs), "--out", str(tmp_path / "dirs.html"))  # run directories work too
    assert res.returncode == 0 and (tmp_path / "dirs.html").is_file()
    bad = _bench("history", "show", str(tmp_path / "nothing.jsonl"))
    assert bad.returncode == 2 and bad.stderr.startswith("bench history: error:")
