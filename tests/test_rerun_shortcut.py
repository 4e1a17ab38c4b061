"""``bench run --resume`` of a finished run answers from the run's stamp (``finished.json``)
without loading the suite, and only when nothing the full path checks has changed.

One tiny finished run (a 40-row CSV, 2 candidates, 2 folds) is made once; each test works on a
copy. Which path answered is seen by counting calls of the driver's ``run_suite`` (the full path
always calls it), and in a fresh interpreter by whether scikit-learn was imported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cli
from benchmark.results import finished
from benchmark.run import driver

SUITE = """\
name: shortcut
seed: 0
folds: 2
inner: 2
trials: 1
learning_curve: false
budget_curve: false
tasks:
  - name: tiny
    path: data.csv
    target: label
candidates: [dummy, linear]
"""
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shortcut")
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    pd.DataFrame({"x": x.round(6), "z": rng.normal(size=40).round(6), "label": (x > 0).astype(int)}).to_csv(root / "data.csv", index=False)
    (root / "suite.yaml").write_text(SUITE, encoding="utf-8")
    assert cli.main(["run", str(root / "suite.yaml"), "--out", str(root / "run"), "--jobs", "1", "--no-progress"]) == 0
    assert (root / "run" / finished.STAMP).is_file()
    return root


@pytest.fixture
def work(base_run, tmp_path, monkeypatch) -> Path:
    dest = tmp_path / "w"
    shutil.copytree(base_run, dest)  # a new path: the copy's stamp names the old suite path
    monkeypatch.chdir(dest)
    # the copied stamp names the original suite file: this resume takes the full path and stamps the copy
    assert cli.main(_resume(dest)) == 0
    assert finished.replay(dest / "run", dest / "suite.yaml", _options()) is not None
    return dest


@pytest.fixture
def full_path_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = driver.run_suite

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "run_suite", counting)
    return calls


def _resume(work: Path, *extra: str) -> list[str]:
    return ["run", str(work / "suite.yaml"), "--out", str(work / "run"), "--resume", "--jobs", "1", "--no-progress", *extra]


def _untimed(text: str) -> str:
    return re.sub(r" in \d+\.\d s", " in T s", text)


def _records(work: Path) -> int:
    return len((work / "run" / "records.jsonl").read_text(encoding="utf-8").splitlines())


def test_the_shortcut_prints_what_the_full_path_prints_and_runs_nothing(work, capsys, full_path_calls):
    capsys.readouterr()
    before = {p.name: p.stat().st_mtime_ns for p in (work / "run").iterdir()}
    assert cli.main(_resume(work)) == 0
    short = capsys.readouterr().out
    assert full_path_calls == []
    assert {p.name: p.stat().st_mtime_ns for p in (work / "run").iterdir()} == before, "the shortcut writes nothing"
    assert cli.main(_resume(work, "--force")) == 0  # --force always takes the full path (and stamps nothing)
    full = capsys.readouterr().out
    assert full_path_calls == [1]
    assert not (work / "run" / finished.STAMP).exists()
    assert "jobs: 4 (4 resumed, 0 run, 0 failed)" in short and "(unchanged: nothing new to report)" in short
    assert _untimed(short) == _untimed(full)


def _edit_suite(work: Path) -> None:
    with (work / "suite.yaml").open("a", encoding="utf-8") as fh:
        fh.write("# a comment changes the bytes, not the suite\n")


def _edit_data(work: Path) -> None:
    df = pd.read_csv(work / "data.csv")
    df.loc[0, "z"] = 123.0
    df.to_csv(work / "data.csv", index=False)


def _drop_report(work: Path) -> None:
    (work / "run" / "report.html").unlink()


def _damage_stamp(work: Path) -> None:
    (work / "run" / finished.STAMP).write_text("{not json", encoding="utf-8")


def _other_version(work: Path) -> None:
    stamp = json.loads((work / "run" / finished.STAMP).read_text(encoding="utf-8"))
    stamp["key"]["versions"]["scikit-learn"] = "0.0.1"
    (work / "run" / finished.STAMP).write_text(json.dumps(stamp), encoding="utf-8")


def _append_record(work: Path) -> None:
    with (work / "run" / "records.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("\n")


@pytest.mark.parametrize("change, rc", [
    (_edit_suite, 0),      # same suite, other bytes: the full path finds nothing to run
    (_drop_report, 0),     # the full path writes the report again
    (_damage_stamp, 0),
    (_other_version, 0),   # the stamp was made under other library versions
    (_append_record, 0),   # the records changed after the stamp
    (_edit_data, 2),       # the full path refuses: the data changed since the run
])
def test_any_change_takes_the_full_path(work, capsys, full_path_calls, change, rc):
    n = _records(work)
    change(work)
    assert cli.main(_resume(work)) == rc
    assert full_path_calls == [1]
    assert _records(work) == n
    if rc == 0:
        assert (work / "run" / "report.html").is_file()
        assert finished.replay(work / "run", work / "suite.yaml", _options()) is not None, "the full path stamps again"


def _options(**over) -> dict:
    return {"seed": None, "trials": None, "model_seed": None, "final": None, "allow_outside": False, **over}


def test_other_options_take_the_full_path_which_refuses_the_mix(work, capsys, full_path_calls):
    assert cli.main(_resume(work, "--trials", "3")) == 2
    assert full_path_calls == [1]
    assert "suite.trials: 1 → 3" in capsys.readouterr().err
    assert finished.replay(work / "run", work / "suite.yaml", _options(trials=3)) is None


def test_a_lost_saved_prediction_takes_the_full_path(work):
    folder = work / "run" / "oof" / "x"
    folder.mkdir(parents=True)
    (folder / "p.npz").write_bytes(b"abc")
    assert finished.replay(work / "run", work / "suite.yaml", _options()) is None  # a file the stamp never saw
    cli.main(_resume(work))
    assert finished.replay(work / "run", work / "suite.yaml", _options()) is not None
    (folder / "p.npz").unlink()
    assert finished.replay(work / "run", work / "suite.yaml", _options()) is None


def test_resume_without_out_finds_the_stamped_latest_run(work, capsys, full_path_calls):
    argv = ["run", "suite.yaml", "--jobs", "1", "--no-progress"]
    assert cli.main(argv) == 0  # into reports/shortcut-<time>
    assert full_path_calls == [1]
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    assert full_path_calls == [1]
    assert "jobs: 4 (4 resumed, 0 run, 0 failed)" in capsys.readouterr().out
    # a newer, unfinished run of the suite is the one --resume continues: no shortcut
    (done,) = Path("reports").glob("shortcut-*")
    newer = Path("reports") / "shortcut-29991231-235959"
    newer.mkdir()
    shutil.copy(done / "manifest.json", newer / "manifest.json")
    assert finished.stamped_run(Path("reports"), Path("suite.yaml")) is None


def test_the_shortcut_imports_no_modelling_library(work):
    code = ("import sys; from benchmark import cli; rc = cli.main(sys.argv[1:]); "
            "print('IMPORTED', sorted(m for m in ('sklearn', 'scipy', 'pandas', 'torch', 'optuna') if m in sys.modules)); sys.exit(rc)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # PYTHONPATH is part of the stamp: the first resume stamps anew
    for expected in ("IMPORTED ['pandas', 'scipy', 'sklearn'", "IMPORTED []"):
        res = subprocess.run([sys.executable, "-c", code, *_resume(work)], capture_output=True, text=True, env=env, cwd=work, timeout=120)
        assert res.returncode == 0, res.stderr
        assert expected in res.stdout
    assert "jobs: 4 (4 resumed, 0 run, 0 failed)" in res.stdout


@pytest.mark.parametrize("resume", [False, True])
def test_a_suite_path_too_long_for_the_file_system_is_one_line(tmp_path, monkeypatch, capsys, resume):
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["run", "x" * 5000, "--no-progress", *(["--resume"] if resume else [])])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in out + err, err
    assert lines[0].startswith("bench run: error: ") and "too long" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_forced_resume_leaves_no_stamp_so_the_next_resume_refuses_the_mix(work, capsys, full_path_calls):
    _edit_data(work)
    assert cli.main(_resume(work, "--force")) == 0  # resumes despite the new data
    assert not (work / "run" / finished.STAMP).exists()
    assert cli.main(_resume(work)) == 2  # the full path: the records now mix two data hashes
    assert full_path_calls == [1, 1]
    assert "mix" in capsys.readouterr().err


def test_a_retryable_record_leaves_no_stamp(work):
    path = work / "run" / "records.jsonl"
    last = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    with path.open("a", encoding="utf-8") as fh:  # the job's latest record: lost to the infrastructure
        fh.write(json.dumps({**last, "state": "failed", "error_kind": "infrastructure", "error": "x"}) + "\n")
    assert cli.main(_resume(work)) == 0
    assert not (work / "run" / finished.STAMP).exists()


def test_a_re_pointed_symlink_takes_the_full_path(tmp_path, monkeypatch, capsys, full_path_calls):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2)
    for name in ("a.csv", "b.csv"):
        x = rng.normal(size=40)
        pd.DataFrame({"x": x.round(6), "z": rng.normal(size=40).round(6), "label": (x > 0).astype(int)}).to_csv(name, index=False)
    Path("data.csv").symlink_to("a.csv")
    Path("suite.yaml").write_text(SUITE, encoding="utf-8")
    argv = ["run", "suite.yaml", "--out", "run", "--jobs", "1", "--no-progress"]
    assert cli.main(argv) == 0 and Path("run", finished.STAMP).is_file()
    assert cli.main([*argv, "--resume"]) == 0 and full_path_calls == [1]  # the shortcut
    Path("data.csv").unlink()
    Path("data.csv").symlink_to("b.csv")
    assert cli.main([*argv, "--resume"]) == 2  # the full path finds other data
    assert full_path_calls == [1, 1]
    assert "cannot resume" in capsys.readouterr().err


def test_a_data_file_that_appears_in_the_current_folder_takes_the_full_path(tmp_path, monkeypatch, capsys, full_path_calls):
    sub = tmp_path / "suites"
    sub.mkdir()
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    frame = pd.DataFrame({"x": x.round(6), "z": rng.normal(size=40).round(6), "label": (x > 0).astype(int)})
    frame.to_csv(sub / "data.csv", index=False)
    (sub / "suite.yaml").write_text(SUITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = ["run", "suites/suite.yaml", "--out", "run", "--jobs", "1", "--no-progress"]
    assert cli.main(argv) == 0  # data.csv: not in the current folder, so the suite's
    frame.assign(z=frame["z"] + 1).to_csv(tmp_path / "data.csv", index=False)  # now the current folder has one
    assert cli.main([*argv, "--resume"]) == 2
    assert full_path_calls == [1, 1]


@pytest.mark.parametrize("stamp", [
    {"format": 1, "prefix": "/x", "key": {"suite": "SUITE"}},
    {"format": 1, "prefix": "../../etc", "key": {"suite": "SUITE"}},
    "DEEP",
])
def test_a_hostile_stamp_under_reports_is_ignored(work, capsys, full_path_calls, stamp):
    argv = ["run", "suite.yaml", "--jobs", "1", "--no-progress"]
    assert cli.main(argv) == 0
    (done,) = Path("reports").glob("shortcut-*")
    bad = Path("reports") / "evil"
    bad.mkdir()
    text = "[" * 100_000 + "]" * 100_000 if stamp == "DEEP" else json.dumps(stamp).replace("SUITE", str((work / "suite.yaml").resolve()))
    (bad / finished.STAMP).write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "jobs: 4 (4 resumed, 0 run, 0 failed)" in out
    assert finished.stamped_run(Path("reports"), Path("suite.yaml")) == done
