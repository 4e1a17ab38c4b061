"""bench export: LaTeX and CSV tables, standalone SVG/PDF figures, Parquet, MLflow (issue 17)."""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.config import parse_suite
from benchmark.export import latex
from benchmark.export.files import export
from benchmark.report import write_report
from benchmark.run.driver import run_suite
from benchmark.serialize import csv_text

TASK = "iris_50%&co"  # a name with every character LaTeX treats specially in tables
CAND = "k_nn%&#1"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    raw = {
        "name": "export_test%",
        "tasks": [{"name": TASK, "dataset": "iris"}, {"dataset": "diabetes"}],
        "candidates": ["dummy", "linear", {"name": CAND, "base": "knn"}, {"name": "mlp", "params": {"max_epochs": 3}}],
        "trials": 3, "folds": 2, "inner": 2, "learning_curve": [0.5, 1.0],
    }
    out = tmp_path_factory.mktemp("runs") / "run"
    run_suite(parse_suite(raw), out=out, progress=False)
    write_report(out)
    return out


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    dest = tmp_path_factory.mktemp("export")
    return dest, export(run_dir, dest)


# ---------------------------------------------------------------------------------------------
# LaTeX


def _strip_escapes(tex: str) -> str:
    """The text with escaped specials (``\\%`` …) and the comment line removed."""
    tex = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    return re.sub(r"\\[&%$#_{}]", "", tex)


def check_latex(tex: str) -> list[list[str]]:
    """Parse a table file as LaTeX would read its structure; returns the body rows' cells."""
    body = _strip_escapes(tex)
    assert "%" not in body, "an unescaped % would comment out the rest of the line"
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, f"\\end{{{env}}} closes the wrong environment"
    assert not stack, f"unclosed environments: {stack}"
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0, "unbalanced braces"
    assert body.count("$") % 2 == 0, "unbalanced math"
    lines = tex.splitlines()
    rules = [i for i, line in enumerate(lines) if line in (r"\toprule", r"\midrule", r"\bottomrule")]
    assert [lines[i] for i in rules] == [r"\toprule", r"\midrule", r"\bottomrule"]
    align = re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex).group(1)
    rows = [line for line in lines[rules[0] + 1:rules[2]] if line != r"\midrule"]
    cells = []
    for row in rows:
        assert row.endswith(r" \\")
        parts = re.split(r"(?<!\\)&", row[:-3])
        assert len(parts) == len(align), f"{len(parts)} cells for {len(align)} columns: {row}"
        cells.append([p.strip() for p in parts])
    assert re.search(r"\\caption\{.+\}", tex) and r"\label{" in tex
    return cells


def test_escape_prints_every_special_character_literally():
    assert latex.escape("a_b%c&d$e#f{g}h~i^j\\k") == r"a\_b\%c\&d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    assert latex.escape("0.5 ± 0.1 – 12\u202f345") == r"0.5 $\pm$ 0.1 -- 12\,345"


def test_leaderboard_latex_parses_with_escaped_names(exported):
    dest, _ = exported
    tex = (dest / "leaderboard.tex").read_text(encoding="utf-8")
    cells = check_latex(tex)
    assert [r[0] for r in cells[1:]] and latex.escape(CAND) in [r[0] for r in cells[1:]]
    assert CAND not in tex
    header = cells[0]
    assert header[:4] == ["candidate", "mean rank", "group", "tasks won"] and "W/T/L" in header and "p vs leader" in header
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert r"export\_test\%" in caption and "2 outer folds" in caption and "3 tuning trials" in caption and r"\alpha = 0.05" in caption
    assert "Nemenyi" in caption and "Holm" in caption


def test_per_task_latex_marks_best_and_not_worse(exported, run_dir):
    dest, _ = exported
    files = sorted(dest.glob("task-*.tex"))
    assert len(files) == 2
    tex = next(f for f in files if f.name.startswith("task-iris-50-co")).read_text(encoding="utf-8")
    cells = check_latex(tex)
    assert latex.escape(TASK) in tex and TASK not in tex
    assert cells[0][1] == r"roc\_auc (tuning)"
    tuning = [r[1] for r in cells[1:]]
    assert sum(c.startswith(r"\textbf{") for c in tuning) == 1, "exactly one best on the tuning metric"
    per_task = pd.read_csv(dest / "per_task.csv")
    iris = per_task[(per_task["task"] == TASK) & (per_task["metric"] == "roc_auc")].set_index("candidate")
    best = iris.index[iris["is_best"]][0]
    assert iris.loc[best, "mean"] == iris["mean"].max()
    for row in cells[1:]:
        name = row[0].replace("\\", "")
        c = next(k for k in iris.index if k.replace("\\", "") == name)
        if c == best:
            assert row[1].startswith(r"\textbf{")
        elif str(iris.loc[c, "not_worse"]) == "True":
            assert row[1].startswith(r"\underline{")
        else:
            assert not row[1].startswith(("\\textbf", "\\underline"))
        assert r"$\pm$" in row[1]


# ---------------------------------------------------------------------------------------------
# CSV


def test_tidy_csv_tables(exported, run_dir):
    dest, _ = exported
    lb = pd.read_csv(dest / "leaderboard.csv")
    assert set(lb["candidate"]) == {"dummy", "linear", CAND, "mlp"}
    assert list(lb["position"]) == [1, 2, 3, 4] and lb["mean_rank"].is_monotonic_increasing
    leader = lb.iloc[0]
    assert pd.isna(leader["wins"]) and (lb.iloc[1:][["wins", "ties", "losses"]].sum(axis=1) == 2).all()  # two tasks
    per_task = pd.read_csv(dest / "per_task.csv")
    assert {"task", "candidate", "metric", "mean", "sd", "n_folds", "is_best", "not_worse", "p_holm"} <= set(per_task.columns)
    assert not per_task.duplicated(["task", "candidate", "metric"]).any()
    results = pd.read_csv(run_dir / "results.csv")
    one = results[(results["task"] == "diabetes") & (results["candidate"] == "linear")]["test_rmse"]
    row = per_task[(per_task["task"] == "diabetes") & (per_task["candidate"] == "linear") & (per_task["metric"] == "rmse")].iloc[0]
    assert row["mean"] == pytest.approx(one.mean()) and row["sd"] == pytest.approx(one.std(ddof=1))


def test_csv_text_cells_cannot_start_a_formula():
    frame = pd.DataFrame({"candidate": ["=HYPERLINK(\"x\")", "+1", "@SUM(A1)", "-x", "plain", None], "score": [-1.5, 2, 3, 4, 5, 6]})
    safe = pd.read_csv(io.StringIO(csv_text(frame)))  # what bench export writes (serialize.csv_text, shared with results.csv)
    assert list(safe["candidate"][:5]) == ["'=HYPERLINK(\"x\")", "'+1", "'@SUM(A1)", "'-x", "plain"]
    assert safe["candidate"].isna().iloc[5] and list(safe["score"]) == [-1.5, 2, 3, 4, 5, 6]


# ---------------------------------------------------------------------------------------------
# Figures


def test_figures_are_standalone_svg_and_pdf(exported):
    from pypdf import PdfReader

    dest, _ = exported
    svgs, pdfs = sorted(dest.glob("*.svg")), sorted(dest.glob("*.pdf"))
    stems = {p.stem for p in svgs}
    assert stems == {p.stem for p in pdfs}
    assert {"cd-diagram", "learning-summary", "budget-ranks"} <= stems
    for kind in ("learning-curves-", "tuning-curves-"):
        assert sum(s.startswith(kind) for s in stems) == 2
    assert sum(s.startswith("epochs-") for s in stems) == 2  # the net's epoch history, one per task
    for p in svgs:
        root = ET.parse(p).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "<text" not in p.read_text(encoding="utf-8"), "glyphs are embedded as paths"
    for p in pdfs:
        reader = PdfReader(p)
        assert len(reader.pages) == 1
        width = float(reader.pages[0].mediabox.width) / 72
        assert width in (pytest.approx(3.5, abs=0.02), pytest.approx(7.0, abs=0.02)), f"{p.name}: {width} in"
        fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
        assert fonts
        for font in fonts:
            desc = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in desc.get_object(), f"{p.name}: font {font.get('/BaseFont')} not embedded"


# ---------------------------------------------------------------------------------------------
# Parquet


def test_parquet_round_trips_to_results_csv(exported, run_dir):
    dest, _ = exported
    pq = pd.read_parquet(dest / "results.parquet")
    csv = pd.read_csv(run_dir / "results.csv")
    assert len(pq) == len(csv) and list(pq.columns) == list(csv.columns)
    for col in ("task", "candidate", "state", "metric"):
        assert isinstance(pq[col].dtype, pd.CategoricalDtype)
    assert list(pq["candidate"].cat.categories) == ["dummy", "linear", CAND, "mlp"]
    assert all(isinstance(json.loads(v), dict) for v in pq["best_params"])
    for col in csv.columns:
        a, b = pq[col], csv[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=0, atol=0, err_msg=col)
        else:
            assert [None if pd.isna(x) else str(x) for x in a] == [None if pd.isna(x) else str(x) for x in b], col
    trials = pd.read_parquet(dest / "trials.parquet")
    trials_csv = pd.read_csv(run_dir / "trials.csv")
    assert len(trials) == len(trials_csv) > 0
    assert isinstance(trials["candidate"].dtype, pd.CategoricalDtype)
    np.testing.assert_allclose(trials["value"].astype(float), trials_csv["value"].astype(float))
    assert all(isinstance(json.loads(v), dict) for v in trials["params"])


def test_export_twice_gives_the_same_files(run_dir, exported, tmp_path):
    dest, first = exported
    again = export(run_dir, tmp_path)
    assert [p.name for p in again] == [p.name for p in first]
    for a, b in zip(first, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_cli_export_formats_and_bad_input(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--out", str(tmp_path), "--format", "latex,csv"]) == 0
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".csv", ".tex", ".tex", ".tex"]
    assert main(["export", str(run_dir), "--format", "latex,docx"]) == 2
    err = capsys.readouterr().err
    assert "--format" in err and "docx" in err and "Traceback" not in err
    assert main(["export", str(tmp_path / "nope")]) == 2


# ---------------------------------------------------------------------------------------------
# MLflow


def _snapshot(client, exp_id):
    runs = client.search_runs([exp_id], max_results=1000)
    out = {}
    for r in runs:
        hist = {k: [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, k)] for k in r.data.metrics}
        out[r.info.run_id] = (r.data.params, r.data.metrics, r.data.tags, hist, r.info.status,
                              sorted(a.path for a in client.list_artifacts(r.info.run_id)))
    return out


def test_mlflow_one_child_per_job_with_the_records_numbers(run_dir, exported, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from benchmark.export.tracking import log_run
    from benchmark.results.records import latest_jobs
    from benchmark.results.store import Store

    work = tmp_path / "run"
    shutil.copytree(run_dir, work)
    dest, files = exported
    done = log_run(work, artifacts=files)
    assert (work / "mlflow" / "mlflow.db").is_file()
    client = MlflowClient(tracking_uri=done.tracking_uri)
    runs = client.search_runs([done.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == done.parent_run_id]
    assert len(parents) == 1 and len(runs) == 1 + len(children)
    manifest = Store(work).read_manifest()
    jobs = latest_jobs(list(Store(work).records()))
    assert len(children) == len(jobs) == 2 * 4 * 2
    by_key = {tuple(json.loads(r.data.tags["bench.job"])): r for r in children}
    assert len(by_key) == len(jobs)
    for job in jobs:
        run = by_key[(job["task"], job["candidate"], job["fold"])]
        m = run.data.metrics
        for k, v in job.items():
            if k.startswith(("test_", "train_")) or k in ("fit_seconds", "predict_seconds", "cpu_seconds", "tune_seconds"):
                assert m[k] == v, (k, job["candidate"])
        t = run.data.tags
        assert (t["bench.data_hash"], t["bench.split_hash"], t["bench.fold_hash"]) == (job["data_hash"], job["split_hash"], job["fold_hash"])
        assert t["bench.seed"] == str(job["seed"]) and t["bench.git_commit"] == str(manifest["git_commit"])
        assert t["bench.version.scikit-learn"] == manifest["versions"]["scikit-learn"]
        assert json.loads(run.data.params["budget.trials"]) == 3
        for name, value in (job.get("best_params") or {}).items():
            assert run.data.params[f"config.{name}"] == (value if isinstance(value, str) else json.dumps(value))
        if job["candidate"] == "mlp":
            hist = client.get_metric_history(run.info.run_id, "epoch.train_loss")
            assert [(h.step, h.value) for h in hist] == [(e["epoch"], e["train_loss"]) for e in job["epoch_history"]]
    arts = {a.path for a in client.list_artifacts(done.parent_run_id)}
    assert "report.html" in arts and "export" in arts
    assert {a.path.split("/")[-1] for a in client.list_artifacts(done.parent_run_id, "export")} == {p.name for p in files}

    # a second export changes nothing
    before = _snapshot(client, done.experiment_id)
    again = log_run(work, artifacts=files)
    assert (again.parent_run_id, again.created, again.replaced, again.unchanged) == (done.parent_run_id, 0, 0, len(jobs))
    assert _snapshot(client, done.experiment_id) == before

    # a job whose record changed (re-run): its run is replaced, never duplicated
    changed = dict(jobs[0], test_accuracy=0.123456)
    with (work / "records.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(changed) + "\n")
    third = log_run(work, artifacts=files)
    assert (third.created, third.replaced, third.unchanged) == (0, 1, len(jobs) - 1)
    children = client.search_runs([done.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{done.parent_run_id}'", max_results=1000)
    assert len(children) == len(jobs)
    key = json.dumps([changed["task"], changed["candidate"], changed["fold"]])
    assert [r.data.metrics["test_accuracy"] for r in children if r.data.tags["bench.job"] == key] == [0.123456]


def test_cli_export_to_mlflow_folder(run_dir, tmp_path, capsys):
    pytest.importorskip("mlflow")
    assert main(["export", str(run_dir), "--out", str(tmp_path / "x"), "--format", "csv", "--mlflow", str(tmp_path / "store")]) == 0
    out = capsys.readouterr().out
    assert "16 created" in out and (tmp_path / "store" / "mlflow.db").is_file()


def test_compare_logs_to_mlflow_and_exports(frame, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from benchmark import compare

    y = (frame["x1"].fillna(0) > 0).astype(int).to_numpy()
    store = tmp_path / "store"
    res = compare(frame, y, candidates=["dummy", "linear"], trials=2, folds=2, inner=2, out=tmp_path / "r",
                  learning_curve=False, budget_curve=False, mlflow=str(store))
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("bench/data")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1 + 2 * 2
    files = res.export(tmp_path / "x", formats="latex,parquet")
    assert {p.name for p in files} == {"leaderboard.tex", f"task-{latex.slug('data')}.tex", "results.parquet", "trials.parquet"}
    check_latex((tmp_path / "x" / "leaderboard.tex").read_text(encoding="utf-8"))
