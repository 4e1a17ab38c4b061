"""Refuse to mix: resuming or reporting a run whose suite, data, splits or library versions changed
stops with exit code 2 and one line that names what differs (old → new), and writes nothing —
unless ``--force`` is given.

One tiny run (a 40-row CSV, 2 candidates, 2 folds, 1 trial, no curves) is made once; each test
works on a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cli

SUITE = """\
name: mix
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


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """A finished run in ``<root>/run`` of ``<root>/suite.yaml`` over ``<root>/data.csv``."""
    root = tmp_path_factory.mktemp("mix")
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    pd.DataFrame({"x": x.round(6), "z": rng.normal(size=40).round(6), "label": (x > 0).astype(int)}).to_csv(root / "data.csv", index=False)
    (root / "suite.yaml").write_text(SUITE, encoding="utf-8")
    assert cli.main(["run", str(root / "suite.yaml"), "--out", str(root / "run"), "--jobs", "1", "--no-progress"]) == 0
    return root


@pytest.fixture
def work(base_run, tmp_path) -> Path:
    dest = tmp_path / "w"
    shutil.copytree(base_run, dest)
    return dest


def _refused(argv: list[str], capsys, folder: Path, *, command: str = "run") -> str:
    before = _snapshot(folder)
    capsys.readouterr()
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert "Traceback" not in out + err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"bench {command}: error: ")
    assert _snapshot(folder) == before, "a refused command must not write into the run directory"
    return lines[0]


def _resume(work: Path, *extra: str) -> list[str]:
    return ["run", str(work / "suite.yaml"), "--out", str(work / "run"), "--resume", "--jobs", "1", "--no-progress", *extra]


def _edit_suite(work: Path, old: str, new: str) -> None:
    text = (work / "suite.yaml").read_text(encoding="utf-8")
    assert old in text
    (work / "suite.yaml").write_text(text.replace(old, new), encoding="utf-8")


def test_resume_of_an_unchanged_run_is_accepted_and_runs_nothing(work, capsys):
    before = len((work / "run" / "records.jsonl").read_text(encoding="utf-8").splitlines())
    assert cli.main(_resume(work)) == 0
    assert "jobs: 4 (4 resumed, 0 run, 0 failed)" in capsys.readouterr().out
    assert len((work / "run" / "records.jsonl").read_text(encoding="utf-8").splitlines()) == before


def test_changed_trials_are_named_with_old_and_new_value(work, capsys):
    _edit_suite(work, "trials: 1", "trials: 2")
    line = _refused(_resume(work), capsys, work / "run")
    assert "cannot resume, results would mix: suite.trials: 1 → 2 (start a new run, or pass --force)" in line


def test_changed_candidate_space_names_the_candidate_and_the_bound(work, capsys):
    _edit_suite(work, "candidates: [dummy, linear]", "candidates: [dummy, {name: linear, space: {C: {high: 10.0}}}]")
    line = _refused(_resume(work), capsys, work / "run")
    assert "suite.candidates[linear].spaces.classification.C.high: 1000.0 → 10.0" in line
    assert "dummy" not in line  # only what differs


def test_removed_candidate_is_named(work, capsys):
    _edit_suite(work, "candidates: [dummy, linear]", "candidates: [dummy]")
    line = _refused(_resume(work), capsys, work / "run")
    assert "suite.candidates: 'linear' removed" in line


def test_one_edited_cell_changes_the_data_hash_of_that_task(work, capsys):
    data = pd.read_csv(work / "data.csv")
    data.loc[3, "z"] += 1.0
    data.to_csv(work / "data.csv", index=False)
    old = json.loads((work / "run" / "manifest.json").read_text(encoding="utf-8"))["tasks"]["tiny"]["data_hash"]
    line = _refused(_resume(work), capsys, work / "run")
    assert f"task 'tiny': data hash changed ({old[:12]} → " in line
    assert "split hash" not in line  # the labels did not change, so neither did the splits
    assert "suite." not in line


def test_changed_library_version_is_named(work, capsys):
    path = work / "run" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    lib = next(k for k in sorted(manifest["versions"]) if k != "python")
    real = manifest["versions"][lib]
    manifest["versions"][lib] = "0.0.1"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    line = _refused(_resume(work), capsys, work / "run")
    assert f"{lib} version 0.0.1 → {real}" in line


def test_different_seed_names_the_seed_and_the_new_splits(work, capsys):
    line = _refused(_resume(work, "--seed", "1"), capsys, work / "run")
    assert "suite.seed: 0 → 1" in line
    assert "task 'tiny': split hash changed" in line


def test_force_resumes_despite_a_difference(work, capsys, caplog):
    _edit_suite(work, "trials: 1", "trials: 2")
    assert cli.main(_resume(work, "--force")) == 0
    assert "resuming despite differences (--force): suite.trials: 1 → 2" in caplog.text
    manifest = json.loads((work / "run" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["suite"]["trials"] == 2


# ---------------------------------------------------------------------------------------------
# records mixed into a run directory by hand
# ---------------------------------------------------------------------------------------------


def _mix_in_foreign_record(run: Path) -> str:
    """Append a copy of the first job record as if it came from other data; return the foreign hash."""
    lines = (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["data_hash"] = "f" * 64
    rec["fold"] = 7
    rec["key"] = rec["key"][:-1] + "7"
    with (run / "records.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")
    return rec["data_hash"]


def test_report_refuses_records_from_other_data(work, capsys):
    _mix_in_foreign_record(work / "run")
    line = _refused(["report", str(work / "run")], capsys, work / "run", command="report")
    assert "records from different data or splits are mixed" in line
    assert "task 'tiny': 1 record(s) with data hash ffffffffffff" in line
    assert "(first: record 5)" in line
    assert "--force" in line


def test_report_with_force_writes_the_report(work, capsys):
    _mix_in_foreign_record(work / "run")
    assert cli.main(["report", str(work / "run"), "--force"]) == 0
    assert (work / "run" / "report.html").is_file()


def test_baseline_refuses_records_from_other_splits(work, capsys):
    run = work / "run"
    lines = (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[-1])
    rec["split_hash"] = "0" * 64
    lines[-1] = json.dumps(rec)
    (run / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = _refused(["baseline", str(run), "--out", str(work / "b.json")], capsys, run, command="baseline")
    assert "task 'tiny': 1 record(s) with split hash 000000000000" in line
    assert not (work / "b.json").exists()


def test_resume_refuses_records_from_other_data(work, capsys):
    _mix_in_foreign_record(work / "run")
    line = _refused(_resume(work), capsys, work / "run")
    assert "records from different data or splits are mixed: task 'tiny': 1 record(s) with data hash ffffffffffff" in line
