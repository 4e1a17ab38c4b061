"""Bad input at the command line: one clear line naming the file and field, exit code 2, no
traceback, nothing written.

Every malformed suite in ``tests/bad_inputs/`` is checked in-process through ``cli.main`` (fast);
a representative subset, and the cases about existing run directories, run the real
``python -m benchmark`` in a subprocess. All of them fail before any fitting.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import cli
from benchmark.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
BAD = Path(__file__).resolve().parent / "bad_inputs"
PREFIX = "bench run: error: "

#: suite file in bad_inputs/ → text the error line must contain (after the suite path).
CASES: dict[str, list[str]] = {
    "broken_syntax": ["not valid YAML at line 5, column 7", "fix the syntax"],
    "duplicate_key": ["duplicate key 'trials' (also on line 2)"],
    "not_utf8": ["not a UTF-8 text file"],
    "list_not_mapping": ["a suite must be a YAML mapping with at least 'tasks' and 'candidates'"],
    "missing_tasks": ["tasks: missing required field 'tasks'"],
    "missing_candidates": ["candidates: missing required field 'candidates'"],
    "unknown_field": ["trails: unknown field 'trails' (did you mean 'trials'?)"],
    "unknown_candidate": [
        "candidates[1].name: unknown candidate 'random_forrest'",
        "random_forest",
        "bench list candidates",
    ],
    "unknown_dataset": ["tasks[1].dataset: unknown dataset 'irsi'", "iris", "bench list datasets"],
    "unknown_metric": ["metric: unknown metric 'auroc'", "roc_auc"],
    "metric_wrong_kind": ["metric: ", "classification task 'iris'", "regression: rmse"],
    "metric_roc_auc_regression": ["metric: ", "regression task 'regression'"],
    "metric_group_mismatch": ["metric.classification: 'rmse' is not a classification metric"],
    "trials_zero": ["trials: must be ≥ 1 (got 0)"],
    "trials_negative": ["trials: must be ≥ 1 (got -3)"],
    "trials_text": ["trials: must be a whole number (got 'many')"],
    "trials_huge": ["trials: must be ≤ 100000 (got 10000000000)"],
    "folds_one": ["folds: must be ≥ 2 (got 1)"],
    "seconds_zero": ["seconds: must be positive (got 0)"],
    "missing_target": ["tasks[0].target: a file task needs 'target'"],
    "narrow_outside": ["candidates[1].space.C: ", "outside the original range"],
    "duplicate_task": ["tasks[1].name: duplicate task name 'iris'"],
    "target_missing_column": [
        "tasks[0].target:",
        "target column 'lable' not in",
        "good.csv",
        "did you mean 'label'",
    ],
    "target_all_nan": ["tasks[0].target:", "'label'", "all_nan_target.csv", "all 30 missing"],
    "target_some_nan": ["tasks[0].target:", "'label'", "some_nan_target.csv", "2 missing values"],
    "target_one_class": ["tasks[0].target:", "'label'", "one_class.csv", "single class"],
    "empty_csv": ["tasks[0].path:", "empty.csv", "empty"],
    "data_not_found": ["tasks[0].path:", "no_such_file.csv", "not found"],
    "pickle_path": ["tasks[0].path:", "data.pkl", "pickle files are never loaded"],
    # wrong types, one per settings field
    "type_seed": ["seed: must be a whole number (got 'zero')"],
    "type_folds": ["folds: must be a whole number (got [3])"],
    "type_repeats": ["repeats: must be a whole number (got 1.5)"],
    "type_inner": ["inner: must be a number of inner folds", "(got 'three')"],
    "type_seconds": ["seconds: must be a finite number (got 'one minute')"],
    "type_timeout": ["timeout: must be a finite number (got {'minutes': 5})"],
    "type_sampler": ["sampler: must be one of tpe, random (got 3)"],
    "type_model_seed": ["model_seed: must be ≥ 0 (got -1)"],
    "type_learning_curve": ["learning_curve: write a list of training fractions", "(got 'yes please')"],
    "type_budget_curve": ["budget_curve: must be true or false (got 1)"],
    "type_metric": ["metric: write a metric name"],
    "type_name": ["name: must be a non-empty string (got ['a', 'b'])"],
    "type_max_rows": ["max_rows: must be a whole number (got 'lots')"],
    "type_tasks": ["tasks: give a non-empty list of tasks"],
    "type_candidates": ["candidates: give a non-empty list of candidates"],
    "type_drop": ["tasks[0].drop: 'drop' is a list of column names"],
    # unknown names, empty and malformed files
    "unknown_sampler": ["sampler: must be one of tpe, random (got 'grid')"],
    "empty_file": ["the file is empty (or only comments)", "'tasks' and 'candidates'"],
    "comments_only": ["the file is empty (or only comments)"],
    "header_only_csv": ["tasks[0].path:", "header_only.csv", "header but no data rows"],
    "binary_csv": ["tasks[0].path:", "binary_garbage.csv", "not UTF-8 text", "save it as a UTF-8 CSV"],
    "latin1_csv": ["tasks[0].path:", "latin1.csv", "not UTF-8 text (byte 0xfc at offset 1)"],
    "groups_nan": ["tasks[0].groups:", "groups column 'g' has 1 missing values", "groups_nan.csv"],
    "time_nan": ["tasks[0].time:", "time column 'g' has 1 missing values"],
    "duplicate_candidate": ["candidates[2]: duplicate candidate 'dummy'"],
    # huge and non-finite numbers
    "folds_huge": ["folds: must be a whole number (got '1e12')", "YAML reads exponent notation like 1e12 as text"],
    "folds_huge_float": ["folds: must be a whole number (got 1000000000000.0)", "without a decimal point"],
    "trials_huge_power": ["trials: must be ≤ 100000 (got 1000000000000000)"],
    "max_rows_huge": ["max_rows: must be a whole number (got 1e+300)"],
    "seconds_inf": ["seconds: must be a finite number (got inf)"],
    "timeout_nan": ["timeout: must be a finite number (got nan)"],
    # security: no object-building YAML tags, no pickles, no escaping the project
    "python_tag": ["YAML tag '!!python/object/apply:os.system' at line 1", "safe loader", "remove the tag"],
    "pickle_suffix": ["tasks[0].path:", "data.pickle", "unsupported file type '.pickle'", "pickle files are never loaded"],
    "joblib_suffix": ["tasks[0].path:", "data.joblib", "unsupported file type '.joblib'"],
    "outside_dotdot": ["tasks[0].path: '../../../outside.csv' resolves to", "outside the current folder and the suite's folder", "--allow-outside"],
}

#: the cases that also run as a real subprocess (each costs an interpreter start, ~2 s).
SUBPROCESS_CASES = [
    "broken_syntax",
    "list_not_mapping",
    "unknown_field",
    "unknown_candidate",
    "metric_roc_auc_regression",
    "trials_text",
    "seconds_zero",
    "target_missing_column",
    "target_all_nan",
    "pickle_path",
    "empty_file",
    "binary_csv",
    "folds_huge",
    "python_tag",
    "outside_dotdot",
]


def _bench(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _check_error_line(stdout: str, stderr: str, *, prefix: str, expected: list[str]) -> str:
    """The one error line on stderr; nothing on stdout; no traceback anywhere."""
    assert "Traceback" not in stdout + stderr, stderr
    assert stdout.strip() == ""
    lines = _lines(stderr)
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(prefix), line
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"
    return line


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module", autouse=True)
def _bad_inputs_untouched():
    """No case writes into tests/bad_inputs/ (e.g. a cache or a run directory next to the suite)."""
    before = _snapshot(BAD)
    yield
    assert _snapshot(BAD) == before


def test_every_bad_input_has_a_case():
    suites = {p.stem for p in BAD.glob("*.yaml")} - {"valid"}
    assert suites == set(CASES)
    assert set(SUBPROCESS_CASES) <= set(CASES)


# ---------------------------------------------------------------------------------------------
# every case, in-process
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_suite_in_process(case, tmp_path, monkeypatch, capsys):
    suite = BAD / f"{case}.yaml"
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["run", str(suite), "--out", str(tmp_path / "out"), "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 2
    _check_error_line(out, err, prefix=f"{PREFIX}{suite}: ", expected=CASES[case])
    assert list(tmp_path.iterdir()) == []  # no --out folder, no reports/


# ---------------------------------------------------------------------------------------------
# the real command line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_suite_subprocess(case, tmp_path):
    suite = BAD / f"{case}.yaml"
    res = _bench(["run", str(suite), "--out", "out"], cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    _check_error_line(res.stdout, res.stderr, prefix=f"{PREFIX}{suite}: ", expected=CASES[case])
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def _fake_run_dir(root: Path) -> Path:
    run = root / "old_run"
    run.mkdir()
    (run / "manifest.json").write_text(
        json.dumps({"format": 1, "suite_hash": "0" * 64, "suite": {"name": "old"}}),
        encoding="utf-8",
    )
    # the last record is torn on purpose: any repair() or append would change the bytes
    (run / "records.jsonl").write_bytes(b'{"type": "job", "key": "a"}\n{"type": "job", "ke')
    return run


def test_existing_run_directory_is_never_written_over(tmp_path):
    run = _fake_run_dir(tmp_path)
    before = _snapshot(run)
    for args, expected in (
        ([str(BAD / "unknown_candidate.yaml")], ["unknown_candidate.yaml", "candidates[1].name"]),
        ([str(BAD / "valid.yaml")], ["already holds a run", "--resume"]),
        ([str(BAD / "valid.yaml"), "--resume"], ["cannot resume", "--force"]),
    ):
        res = _bench(["run", *args, "--out", str(run), "--no-progress"], cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        _check_error_line(res.stdout, res.stderr, prefix=PREFIX, expected=expected)
        assert _snapshot(run) == before, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old_run"]


@pytest.mark.parametrize("case", ["python_tag", "outside_dotdot", "binary_csv", "type_folds", "empty_file", "target_all_nan"])
@pytest.mark.parametrize("resume", [False, True])
def test_bad_suite_leaves_an_existing_run_byte_identical(case, resume, tmp_path, monkeypatch, capsys):
    run = _fake_run_dir(tmp_path)
    before = _snapshot(run)
    monkeypatch.chdir(tmp_path)
    suite = BAD / f"{case}.yaml"
    rc = cli.main(["run", str(suite), "--out", str(run), "--no-progress", *(["--resume"] if resume else [])])
    out, err = capsys.readouterr()
    assert rc == 2
    _check_error_line(out, err, prefix=f"{PREFIX}{suite}: ", expected=CASES[case])
    assert _snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old_run"]


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello", encoding="utf-8")
    res = _bench(["report", "notes"], cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    _check_error_line(
        res.stdout,
        res.stderr,
        prefix="bench report: error: ",
        expected=["notes", "not a run directory", "manifest.json"],
    )
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["readme.txt"]


def test_jobs_zero_is_a_usage_error(tmp_path):
    res = _bench(["run", str(BAD / "valid.yaml"), "--jobs", "0", "--out", "out"], cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stdout + res.stderr
    lines = _lines(res.stderr)
    assert lines[0].startswith("usage: bench run")
    assert lines[-1] == "bench run: error: argument --jobs/-j: must be ≥ 1 (got 0)"
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# more command-line mistakes, in-process
# ---------------------------------------------------------------------------------------------


def _run_main(argv: list[str], capsys) -> tuple[int, str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = _lines(err)
    assert len(lines) == 1, err
    return rc, lines[0]


def test_suite_file_not_found(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc, line = _run_main(["run", "no_such_suite.yaml", "--out", "out"], capsys)
    assert rc == 2
    assert line.startswith(PREFIX) and "suite file not found: no_such_suite.yaml" in line
    assert list(tmp_path.iterdir()) == []


def test_trials_override_is_checked_like_the_suite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc, line = _run_main(
        [
            "run",
            str(BAD / "valid.yaml"),
            "--trials",
            "10000000000",
            "--out",
            "out",
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 2
    assert line.startswith(PREFIX) and "trials: must be ≤ 100000" in line
    assert list(tmp_path.iterdir()) == []


def test_out_is_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.txt").write_text("keep me", encoding="utf-8")
    rc, line = _run_main(
        ["run", str(BAD / "valid.yaml"), "--out", "results.txt", "--no-progress"], capsys
    )
    assert rc == 2
    assert line.startswith(f"{PREFIX}--out results.txt: ") and "not a folder" in line
    assert (tmp_path / "results.txt").read_text(encoding="utf-8") == "keep me"


def test_out_is_a_folder_with_other_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "analysis"
    other.mkdir()
    (other / "results.csv").write_text("precious,data\n", encoding="utf-8")
    before = _snapshot(other)
    rc, line = _run_main(
        ["run", str(BAD / "valid.yaml"), "--out", "analysis", "--no-progress"], capsys
    )
    assert rc == 2
    assert line.startswith(f"{PREFIX}--out analysis: ") and "not empty" in line
    assert _snapshot(other) == before


# ---------------------------------------------------------------------------------------------
# data paths outside the project; mismatched lengths through the API
# ---------------------------------------------------------------------------------------------


def _outside_setup(tmp_path: Path) -> tuple[Path, Path]:
    """A project folder with a suite whose data file is a symlink to a CSV outside the project."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_bytes((BAD / "good.csv").read_bytes())
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.csv").symlink_to(outside / "secret.csv")
    (project / "suite.yaml").write_text(
        "folds: 2\ninner: 2\ntrials: 1\nlearning_curve: false\nbudget_curve: false\n"
        "tasks:\n  - path: data.csv\n    target: label\ncandidates: [dummy]\n",
        encoding="utf-8",
    )
    return project, outside


def test_symlink_out_of_the_project_is_refused(tmp_path, monkeypatch, capsys):
    project, outside = _outside_setup(tmp_path)
    monkeypatch.chdir(project)
    rc, line = _run_main(["run", "suite.yaml", "--out", "out", "--no-progress"], capsys)
    assert rc == 2
    assert line.startswith(f"{PREFIX}suite.yaml: tasks[0].path: 'data.csv' resolves to {outside / 'secret.csv'}")
    assert "--allow-outside" in line
    assert sorted(p.name for p in project.iterdir()) == ["data.csv", "suite.yaml"]


def test_allow_outside_reads_the_file(tmp_path, monkeypatch, capsys):
    project, _ = _outside_setup(tmp_path)
    monkeypatch.chdir(project)
    rc = cli.main(["run", "suite.yaml", "--out", "out", "--no-progress", "--jobs", "1", "--allow-outside"])
    assert rc == 0, capsys.readouterr().err
    assert (project / "out" / "records.jsonl").read_text(encoding="utf-8").count('"type": "job"') == 2


def test_relative_path_to_a_sibling_folder_inside_the_project_is_allowed(tmp_path, monkeypatch):
    """suites/x.yaml naming ../data/x.csv, run from the project root: inside the project, accepted."""
    from benchmark.data.resolve import check_inside

    (tmp_path / "suites").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a,b\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    check_inside("../data/x.csv", str(tmp_path / "suites"))  # no error
    check_inside(str(tmp_path.parent / "anything.csv"), str(tmp_path / "suites"))  # absolute: as written
    with pytest.raises(InputError, match="outside the current folder"):
        check_inside("../../x.csv", str(tmp_path / "suites"))


@pytest.mark.parametrize(
    ("n_x", "kwargs", "message"),
    [
        (50, {"y": 40}, "y of in-memory data 'data' has 40 values but X has 50 rows"),
        (50, {"y": 60}, "y of in-memory data 'data' has 60 values but X has 50 rows"),
        (50, {"y": 50, "groups": 49}, "groups of in-memory data 'data' has 49 values but X has 50 rows"),
        (50, {"y": 50, "time": 51}, "time of in-memory data 'data' has 51 values but X has 50 rows"),
    ],
)
def test_compare_with_mismatched_lengths_names_both(n_x, kwargs, message):
    import numpy as np
    import pandas as pd

    from benchmark import compare

    X = pd.DataFrame({"a": np.arange(n_x, dtype=float)})
    args = {k: np.arange(v) % 2 for k, v in kwargs.items()}
    with pytest.raises(InputError) as info:
        compare(X, args.pop("y"), candidates=["dummy"], trials=1, folds=2, **args)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
