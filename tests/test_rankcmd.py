"""Tests for ``bench rank`` (benchmark.cli.rank): CSV and run-directory input, errors, JSON."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import rank as rankcmd
from benchmark.errors import InputError

# Demšar (2006), Table 6 (see tests/test_stats.py for the note on 'voting').
DEMSAR_CSV = """dataset,C4.5,C4.5+m,C4.5+cf,C4.5+m+cf
adult (sample),0.763,0.768,0.771,0.798
breast cancer,0.599,0.591,0.590,0.569
breast cancer wisconsin,0.954,0.971,0.968,0.967
cmc,0.628,0.661,0.654,0.657
ionosphere,0.882,0.888,0.886,0.898
iris,0.936,0.931,0.916,0.931
liver disorders,0.661,0.668,0.609,0.685
lung cancer,0.583,0.583,0.563,0.625
lymphography,0.775,0.838,0.866,0.875
mushroom,1.000,1.000,1.000,1.000
primary tumor,0.940,0.962,0.965,0.962
rheum,0.619,0.666,0.614,0.669
voting,0.972,0.981,0.97501,0.975
wine,0.957,0.978,0.946,0.970
"""
FAST = ["--n-boot", "50"]


def _write(tmp_path: Path, text: str, name: str = "scores.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_text_output(tmp_path, capsys):
    path = _write(tmp_path, DEMSAR_CSV)
    assert rankcmd.main([str(path), *FAST]) == 0
    out = capsys.readouterr().out
    for needle in ("C4.5+m+cf", "Friedman", "chi2(3) = 9.279", "Iman-Davenport", "CD = 1.254",
                   "Holm", "higher is better"):
        assert needle in out


def test_csv_json_has_the_documented_keys_and_demsar_numbers(tmp_path, capsys):
    """The JSON object carries Demšar's (2006) worked example: ranks, χ²_F 9.28, F_F 3.69,
    CD 1.25 at alpha 0.05."""
    path = _write(tmp_path, DEMSAR_CSV)
    assert rankcmd.main([str(path), "--json", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mean_ranks"] == pytest.approx(
        {"C4.5+m+cf": 1.964, "C4.5+m": 2.0, "C4.5+cf": 2.893, "C4.5": 3.143}, abs=5e-4)
    assert list(doc["mean_ranks"]) == ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]
    assert doc["friedman"]["statistic"] == pytest.approx(9.28, abs=5e-3)
    assert 0 < doc["friedman"]["p_value"] < 0.05
    assert doc["iman_davenport"]["statistic"] == pytest.approx(3.69, abs=5e-3)
    assert {"p_value"} <= set(doc["iman_davenport"])
    assert doc["nemenyi"]["cd"] == pytest.approx(1.25, abs=5e-3)
    assert doc["nemenyi"]["q_alpha"] == pytest.approx(2.569, abs=1e-3)
    assert doc["nemenyi"]["alpha"] == 0.05
    assert len(doc["pairwise"]) == 6
    for rec in doc["pairwise"]:
        assert {"a", "b", "p_value", "p_holm"} <= set(rec)
        assert rec["p_holm"] >= rec["p_value"]
    assert doc["source"]["kind"] == "csv"


def test_alpha_and_lower_is_better_flags(tmp_path, capsys):
    path = _write(tmp_path, DEMSAR_CSV)
    assert rankcmd.main([str(path), "--json", "--alpha", "0.1", "--lower-is-better", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["nemenyi"]["alpha"] == 0.1
    assert doc["greater_is_better"] is False
    assert list(doc["mean_ranks"])[0] == "C4.5"  # the worst AUC is the best error
    assert doc["mean_ranks"]["C4.5"] == pytest.approx(5 - 3.143, abs=5e-4)


def test_missing_cells_and_policies(tmp_path, capsys):
    text = DEMSAR_CSV.replace("iris,0.936,0.931,0.916,0.931", "iris,0.936,,0.916,NA")
    path = _write(tmp_path, text)
    assert rankcmd.main([str(path), "--json", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_datasets"] == 13 and doc["missing"]["dropped_datasets"] == ["iris"]
    assert rankcmd.main([str(path), "--json", "--missing", "last", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_datasets"] == 14 and doc["missing"]["policy"] == "last"
    args = [str(path), "--missing", "baseline", "--baseline", "C4.5", *FAST]
    assert rankcmd.main(args) == 0
    assert "policy 'baseline'" in capsys.readouterr().out


BAD_CSVS = {
    "one_column": ("dataset\niris\nwine\n", "only one column"),
    "one_candidate": ("dataset,svm\niris,0.9\nwine,0.8\n", "only one candidate"),
    "one_dataset": ("dataset,svm,knn\niris,0.9,0.8\n", "at least two datasets"),
    "no_rows": ("dataset,svm,knn\n", "at least two datasets"),
    "non_numeric": ("dataset,svm,knn\niris,0.9,0.8\nwine,0.8,abc\n", "'abc' is not a number"),
    "infinite": ("dataset,svm,knn\niris,0.9,inf\nwine,0.8,0.7\n", "not finite"),
    "duplicate_dataset": ("dataset,svm,knn\niris,0.9,0.8\niris,0.8,0.7\n", "duplicate dataset"),
    "duplicate_candidate": ("dataset,svm,svm\niris,0.9,0.8\nwine,0.8,0.7\n",
                            "duplicate candidate"),
    "ragged": ("dataset,svm,knn\niris,0.9,0.8\nwine,0.8\n", "line 3 has 2 fields"),
    "empty": ("", "empty"),
    "empty_header": ("dataset,svm,\niris,0.9,0.8\nwine,0.8,0.7\n", "empty header"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_bad_csv_is_one_line_and_exit_2(tmp_path, capsys, case):
    text, needle = BAD_CSVS[case]
    path = _write(tmp_path, text)
    assert rankcmd.main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("bench rank: error: ") and str(path) in lines[0]
    assert needle in lines[0]


def test_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert rankcmd.main([str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_module_entry_point_prints_no_traceback(tmp_path):
    """``python -m benchmark.cli.rank`` works standalone; a bad CSV gives exit 2, one line."""
    bad = _write(tmp_path, "dataset,svm,knn\niris,0.9,x\nwine,0.8,0.7\n", "bad.csv")
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli.rank", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    good = _write(tmp_path, DEMSAR_CSV)
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli.rank", str(good), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_candidates"] == 4


def test_add_parser_registers_rank_on_a_subparsers_object(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="bench")
    sub = parser.add_subparsers(dest="command", required=True)
    rankcmd.add_parser(sub)
    path = _write(tmp_path, DEMSAR_CSV)
    args = parser.parse_args(["rank", str(path), "--json", "--alpha", "0.1", *FAST])
    assert args.func is rankcmd.run
    assert rankcmd.run(args) == 0
    assert json.loads(capsys.readouterr().out)["alpha"] == 0.1
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["rank", str(path), "--alpha", "2"])
    assert exc.value.code == 2


# ----------------------------------------------------------------------------------------------
# Run directories
# ----------------------------------------------------------------------------------------------


def _make_run(tmp_path: Path, metric: str = "accuracy") -> tuple[Path, pd.DataFrame]:
    """A run with 4 tasks × 3 candidates × 3 folds; 'knn' fails one fold of t1 and all of t3."""
    rng = np.random.default_rng(0)
    rows = []
    level = {"rf": 0.85, "svm": 0.80, "knn": 0.70}
    for t in ["t0", "t1", "t2", "t3"]:
        for cand, base in level.items():
            for fold in range(3):
                failed = cand == "knn" and (t == "t3" or (t == "t1" and fold == 0))
                score = base + rng.normal(0, 0.01)
                rows.append({
                    "task": t, "candidate": cand, "fold": fold,
                    "state": "error" if failed else "ok",
                    "test_accuracy": np.nan if failed else score,
                    "test_log_loss": np.nan if failed else 1 - score,
                    "fit_seconds": 0.1,
                })
    table = pd.DataFrame(rows)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    table.to_csv(run_dir / "results.csv", index=False)
    manifest = {"suite": {"name": "tiny", "metric": metric}, "seed": 0}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run_dir, table


def test_run_dir_block_is_the_mean_over_ok_folds(tmp_path):
    run_dir, table = _make_run(tmp_path)
    scores = rankcmd.load_scores(run_dir)
    assert scores.kind == "run" and scores.metric == "accuracy" and scores.greater_is_better
    ok = table[table["state"] == "ok"]
    expected = ok.groupby(["task", "candidate"])["test_accuracy"].mean().unstack()
    pd.testing.assert_frame_equal(scores.block, expected.reindex(columns=["knn", "rf", "svm"]),
                                  check_names=False)
    assert np.isnan(scores.block.loc["t3", "knn"])
    assert scores.notes and "t1/knn" in scores.notes[0]


def test_run_dir_rank_json_and_text(tmp_path, capsys):
    run_dir, _ = _make_run(tmp_path)
    assert rankcmd.main([str(run_dir), "--json", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["mean_ranks"]) == ["rf", "svm", "knn"]
    assert doc["missing"]["dropped_datasets"] == ["t3"] and doc["n_datasets"] == 3
    assert doc["source"] == {
        "path": str(run_dir), "kind": "run", "metric": "accuracy", "greater_is_better": True,
        "notes": doc["source"]["notes"],
    }
    assert rankcmd.main([str(run_dir), "--missing", "last", *FAST]) == 0
    out = capsys.readouterr().out
    assert "metric accuracy" in out and "on 4 datasets" in out


def test_run_dir_lower_is_better_metric_from_manifest_and_flag(tmp_path, capsys):
    run_dir, _ = _make_run(tmp_path, metric="log_loss")
    assert rankcmd.main([str(run_dir), "--json", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)  # log_loss is unbounded: normalised, higher is better
    assert doc["greater_is_better"] is True and list(doc["mean_ranks"])[0] == "rf"
    assert rankcmd.main([str(run_dir), "--json", "--metric", "accuracy", *FAST]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["greater_is_better"] is True and list(doc["mean_ranks"])[0] == "rf"
    assert doc["source"]["metric"] == "accuracy"


def test_run_dir_errors(tmp_path, capsys):
    run_dir, _ = _make_run(tmp_path)
    assert rankcmd.main([str(run_dir), "--metric", "auc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "test_auc" in err and "accuracy" in err
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert rankcmd.main([str(empty)]) == 2
    assert "no results.csv" in capsys.readouterr().err
    with pytest.raises(InputError, match="applies to a run directory"):
        rankcmd.load_scores(_write(tmp_path, DEMSAR_CSV), metric="auc")


def test_run_dir_with_per_task_metrics_as_written_by_the_runner(tmp_path, capsys):
    """The runner's manifest maps kind groups to metrics and records each task's metric;
    with mixed metrics, or one metric in the target's units, the block is normalised per task as in
    the report (0 = worst, 1 = best) instead of mixing units."""
    run_dir, table = _make_run(tmp_path)
    table["metric"] = np.where(table["task"].isin(["t0", "t1"]), "accuracy", "log_loss")
    table.to_csv(run_dir / "results.csv", index=False)
    manifest = {
        "suite": {"metric": {"classification": "accuracy", "regression": "rmse"}},
        "tasks": {t: {"metric": "accuracy" if t in ("t0", "t1") else "log_loss"}
                  for t in ["t0", "t1", "t2", "t3"]},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scores = rankcmd.load_scores(run_dir)
    assert scores.greater_is_better is True and scores.metric == "normalised accuracy+log_loss"
    ok = table[table["state"] == "ok"]
    t2 = -ok[ok["task"] == "t2"].groupby("candidate")["test_log_loss"].mean()
    assert scores.block.loc["t2", "rf"] == 1.0
    assert scores.block.loc["t2", "svm"] == pytest.approx((t2["svm"] - t2.min()) / (t2.max() - t2.min()))
    assert ((scores.block >= 0) & (scores.block <= 1) | scores.block.isna()).all().all()
    assert "different metrics" in scores.notes[0] and "normalised" in scores.notes[0]
    assert rankcmd.main([str(run_dir), "--json", *FAST]) == 0
    assert list(json.loads(capsys.readouterr().out)["mean_ranks"]) == ["rf", "svm", "knn"]
    # one metric for every task: that metric and its own direction
    manifest["tasks"] = {t: {"metric": "log_loss"} for t in manifest["tasks"]}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scores = rankcmd.load_scores(run_dir)  # unbounded (target units): normalised, not mixed
    assert scores.metric == "normalised log_loss" and scores.greater_is_better is True
    assert "units of each task's target" in scores.notes[0]
    manifest["tasks"] = {t: {"metric": "accuracy"} for t in manifest["tasks"]}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scores = rankcmd.load_scores(run_dir)  # one bounded metric: raw scores, as in the report
    assert scores.metric == "accuracy" and scores.greater_is_better is True


def test_run_dir_is_read_through_the_result_table_latest_row_per_job(tmp_path):
    """`bench rank RUN_DIR` reads results.csv through ResultTable.from_export: a job written twice
    (a resumed run) counts once, with its latest row; a missing manifest is no error."""
    from benchmark.results.table import ResultTable

    run_dir, table = _make_run(tmp_path)
    first = table[(table["task"] == "t0") & (table["candidate"] == "rf") & (table["fold"] == 0)]
    pd.concat([table, first.assign(test_accuracy=0.0)]).to_csv(run_dir / "results.csv", index=False)
    (run_dir / "manifest.json").unlink()
    results = ResultTable.from_export(run_dir)
    assert len(results.df) == len(table) and results.tasks == {} and results.suite == {}
    assert results.candidates == ["knn", "rf", "svm"]
    block = rankcmd.load_scores(run_dir, metric="accuracy").block
    expected = table[(table["task"] == "t0") & (table["candidate"] == "rf")]["test_accuracy"]
    assert block.loc["t0", "rf"] == pytest.approx((expected.iloc[1:].sum() + 0.0) / 3)
