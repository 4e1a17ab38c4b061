"""Hostile input and real faults (issue 12): label smuggling, YAML bombs, one writer per run
directory, damaged records, spreadsheet formulas, control characters, full disks, read-only runs.

The adversarial corpus (``CORPUS``) is built at test time (alias bombs and oversized files are not
worth storing). Each case must end ``bench run`` with one line on stderr, exit code 2, within its
timeout, without a traceback, and leave an existing run directory byte-identical.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cli, stats
from benchmark.errors import InputError, RunBusyError
from benchmark.results.store import CORRUPT, LOCK, Store, parse_record_line
from benchmark.serialize import csv_cell, csv_uncell, write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
PREFIX = "bench run: error: "

# A tiny run: iris, 2 outer folds, 1 trial; a task and a candidate named like spreadsheet formulas.
EVIL_TASK = "@SUM(1+1)"
EVIL_CAND = '=HYPERLINK("http://evil.example","x")'
TINY = {
    "name": "tiny", "seed": 0, "folds": 2, "inner": 2, "trials": 1, "learning_curve": False, "budget_curve": False,
    "tasks": [{"dataset": "iris", "name": EVIL_TASK}, {"dataset": "wine", "name": "-wine"}],
    "candidates": [{"name": EVIL_CAND, "base": "dummy"}, "linear"],
}


def _write_suite(folder: Path, raw: dict | str, name: str = "suite.yaml") -> Path:
    import yaml

    path = folder / name
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _bench(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under ``folder`` (hidden ones too): content hash, inode and mtime."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_ino, st.st_mtime_ns)
    return out


def _one_error_line(err: str, prefix: str = PREFIX) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    assert "Traceback" not in err
    return lines[0]


def _job_records(run_dir: Path) -> list[dict]:
    return [r for r in Store(run_dir).records() if r.get("type") == "job"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One finished tiny run (8 jobs), shared read-only: tests copy it before changing anything."""
    folder = tmp_path_factory.mktemp("tiny")
    suite = _write_suite(folder, TINY)
    res = _bench(["run", str(suite), "--out", "run", "--no-progress", "--jobs", "1"], cwd=folder)
    assert res.returncode == 0, res.stderr
    return folder / "run"


# ---------------------------------------------------------------------------------------------
# 1. label smuggling
# ---------------------------------------------------------------------------------------------


def _features(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "label": np.tile(["no", "yes"], n // 2)})


def test_a_repeated_target_header_is_refused(tmp_path):
    """pandas reads ``a,b,label,label`` as label and label.1: the copy would become a feature."""
    frame = _features()
    csv = tmp_path / "dup.csv"
    lines = ["a,b,label,label"] + [f"{a},{b},{y},{y}" for a, b, y in frame.itertuples(index=False)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from benchmark.data.loaders import load_file

    with pytest.raises(InputError, match=r"dup\.csv: duplicate column name 'label' in the header \(columns 3 and 4\)"):
        load_file(csv, target="label")
    csv.write_text(csv.read_text().replace("a,b,label,label", "a,a,label,c", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"duplicate column name 'a'"):
        load_file(csv, target="label")


@pytest.mark.parametrize("copy", ["same", "relabelled", "codes"])
def test_a_feature_that_copies_the_target_is_refused_whatever_its_name(tmp_path, copy):
    frame = _features()
    frame["innocent"] = {"same": frame["label"], "relabelled": frame["label"].map({"no": "N", "yes": "Y"}),
                         "codes": (frame["label"] == "yes").astype(int)}[copy]
    path = tmp_path / "leak.csv"
    frame.to_csv(path, index=False)
    from benchmark.data.loaders import load_file

    with pytest.raises(InputError, match=r"feature column 'innocent' in .*leak\.csv is a (relabelled )?copy") as err:
        load_file(path, target="label")
    assert err.value.where == "drop"
    assert load_file(path, target="label", drop=["innocent"]).n_features == 2  # the fix the message names works


def test_a_rescaled_copy_of_a_regression_target_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.normal(size=50)
    from benchmark.data.build import from_frame

    with pytest.raises(InputError, match="'fahrenheit' .* is a rescaled copy"):
        from_frame(pd.DataFrame({"x": rng.normal(size=50), "fahrenheit": y * 1.8 + 32}), y)
    almost = y + rng.normal(scale=1e-3, size=50)  # a strong but honest feature stays
    assert from_frame(pd.DataFrame({"x": almost}), y).n_features == 1


def test_every_registry_dataset_still_loads():
    from benchmark.data.loaders import list_datasets

    assert len(list_datasets()) >= 20


# ---------------------------------------------------------------------------------------------
# 2. OpenML: the real fetch_openml, its download layer stubbed
# ---------------------------------------------------------------------------------------------


def test_openml_arguments_pass_sklearns_own_validation(monkeypatch, tmp_path):
    """The real ``fetch_openml`` validates its arguments before any download; only ``urlopen`` is
    replaced. Before the fix: InvalidParameterError for ``delay=0.0``, never a download."""
    import urllib.error

    import sklearn.datasets._openml as openml_mod

    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(openml_mod, "urlopen", offline)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    from benchmark.data.loaders import load_openml

    with pytest.raises(InputError, match=r"OpenML dataset 31: download failed \(URLError") as err:
        load_openml(31)
    assert "InvalidParameterError" not in str(err.value)
    assert calls, "the download layer was never reached"


# ---------------------------------------------------------------------------------------------
# 3 + the adversarial corpus: bad suites end in one line, exit 2, quickly, touching nothing
# ---------------------------------------------------------------------------------------------

_BASE = "tasks: [{dataset: iris}]\ncandidates: [dummy]\ntrials: 1\nfolds: 2\nlearning_curve: false\nbudget_curve: false\n"


def _bomb(field: str) -> str:
    lines = ["  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return f"{field}:\n" + "\n".join(lines) + "\n"


def _frame_csv(folder: Path, name: str, header: str, rows: int = 40) -> None:
    rng = np.random.default_rng(0)
    n_cols = header.count(",") + 1
    body = [",".join([f"{v:.3f}" for v in rng.normal(size=n_cols - 1)] + [str(i % 2)]) for i in range(rows)]
    (folder / name).write_text(header + "\n" + "\n".join(body) + "\n", encoding="utf-8")


def _case_files(folder: Path, case: str) -> str:
    """Write what ``case`` needs into ``folder``; return the suite text."""
    if case == "bomb_description":
        return "name: bomb\n" + _bomb("description") + _BASE
    if case == "bomb_task_name":
        return _bomb("name") + _BASE
    if case == "bomb_in_params":
        return "name: b\n" + _bomb("description").replace("description", "x_unused") + _BASE
    if case == "oversized_file":
        return "name: big\n# " + "x" * 300_000 + "\n" + _BASE
    if case == "many_values":
        return "name: many\ndescription: [" + ", ".join(["1"] * 25_000) + "]\n" + _BASE
    if case == "long_description":
        return "name: long\ndescription: '" + "x" * 30_000 + "'\n" + _BASE
    if case == "description_mapping":
        return "name: m\ndescription: {a: 1}\n" + _BASE
    if case == "recursive_alias":
        return "name: r\ndescription: &r [*r]\n" + _BASE
    if case == "deep_nesting":
        return "name: d\ndescription: " + "[" * 5000 + "]" * 5000 + "\n" + _BASE
    if case == "duplicate_target_header":
        _frame_csv(folder, "d.csv", "a,b,label,label")
        return "name: d\ntasks: [{path: d.csv, target: label}]\ncandidates: [dummy]\n"
    if case == "duplicate_feature_header":
        _frame_csv(folder, "d.csv", "a,a,b,label")
        return "name: d\ntasks: [{path: d.csv, target: label}]\ncandidates: [dummy]\n"
    if case == "target_copy_other_name":
        frame = _features()
        frame["answer"] = frame["label"]
        frame.to_csv(folder / "c.csv", index=False)
        return "name: c\ntasks: [{path: c.csv, target: label}]\ncandidates: [dummy]\n"
    if case == "fake_parquet":
        (folder / "x.parquet").write_text("a,b\n1,2\n", encoding="utf-8")
        return "name: p\ntasks: [{path: x.parquet, target: b}]\ncandidates: [dummy]\n"
    if case == "not_gzip":
        (folder / "x.csv.gz").write_text("a,b\n1,2\n", encoding="utf-8")
        return "name: g\ntasks: [{path: x.csv.gz, target: b}]\ncandidates: [dummy]\n"
    if case == "nul_in_path":
        return 'name: n\ntasks: [{path: "da\\0ta.csv", target: y}]\ncandidates: [dummy]\n'
    if case == "long_path_component":
        return f"name: l\ntasks: [{{path: {'y' * 300}.csv, target: y}}]\ncandidates: [dummy]\n"
    if case == "inner_holdout_tiny":
        return "name: h\ninner: 1.0e-9\n" + _BASE
    if case == "inner_holdout_almost_all":
        return "name: h\ninner: 0.9999999\n" + _BASE
    if case == "classes_too_small_for_inner":
        rng = np.random.default_rng(0)
        pd.DataFrame({"a": rng.normal(size=600), "label": np.repeat(np.arange(300), 2)}).to_csv(folder / "t.csv", index=False)
        return "name: t\nfolds: 2\ntasks: [{path: t.csv, target: label, kind: multiclass}]\ncandidates: [dummy]\n"
    raise AssertionError(case)


#: case → text the error line must contain.
CORPUS = {
    "bomb_description": "once its aliases (*name) are expanded",
    "bomb_task_name": "once its aliases (*name) are expanded",
    "bomb_in_params": "once its aliases (*name) are expanded",
    "oversized_file": "over the limit of 256,000",
    "many_values": "more than 20,000 values",
    "long_description": "description: is 30,000 characters long",
    "description_mapping": "description: must be text (got a dict",
    "recursive_alias": "description: must be text (got a list",
    "deep_nesting": "nested too deeply",
    "duplicate_target_header": "duplicate column name 'label' in the header",
    "duplicate_feature_header": "duplicate column name 'a' in the header",
    "target_copy_other_name": "tasks[0].drop: feature column 'answer'",
    "fake_parquet": "tasks[0].path: ",
    "not_gzip": "tasks[0].path: ",
    "nul_in_path": "tasks[0].path: 'da<NUL>ta.csv' holds a NUL byte",
    "long_path_component": "tasks[0].path: a component of the path is 304 bytes long",
    "inner_holdout_tiny": "cannot make the inner splits",
    "inner_holdout_almost_all": "inner",
    "classes_too_small_for_inner": "fewer than the 3 inner folds",
}


@pytest.fixture
def old_run(tmp_path) -> Path:
    """A run directory that must not change: a manifest, records with a torn last line."""
    run = tmp_path / "old_run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"format": 1, "suite_hash": "0" * 64, "suite": {"name": "old"}}), encoding="utf-8")
    (run / "records.jsonl").write_bytes(b'{"type": "job", "key": "a", "task": "t", "candidate": "c", "fold": 0}\n{"type": "jo')
    return run


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_adversarial_corpus(case, tmp_path, old_run, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    suite = _write_suite(work, _case_files(work, case))
    monkeypatch.chdir(work)
    before = _snapshot(old_run)
    for out, extra in ((tmp_path / "fresh", []), (old_run, ["--resume"])):
        t0 = time.perf_counter()
        rc = cli.main(["run", str(suite), "--out", str(out), "--no-progress", "--jobs", "1", *extra])
        seconds = time.perf_counter() - t0
        _, err = capsys.readouterr()
        assert rc == 2, err
        line = _one_error_line(err)
        assert CORPUS[case] in line, line
        assert len(line) < 1000, line
        assert seconds < 20, (case, seconds)  # bounded work: a bomb is never expanded
    assert not (tmp_path / "fresh").exists()
    assert _snapshot(old_run) == before
    assert sorted(p.name for p in work.iterdir() if p.suffix in ("", ".yaml")) == ["suite.yaml"]  # no run folder made


# ---------------------------------------------------------------------------------------------
# 4. one writer per run directory
# ---------------------------------------------------------------------------------------------

_HOLDER = "import sys, time\nfrom benchmark.results.store import Store\nwith Store(sys.argv[1]).writing('holder'):\n    print('locked', flush=True)\n    time.sleep(120)\n"


def _hold_lock(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run_dir)], env=ENV, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.timeout(120)
def test_report_waits_for_no_writer_and_the_lock_dies_with_its_process(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    holder = _hold_lock(run)
    try:
        for args in (["report", str(run)], ["report", str(run), "--out", str(tmp_path / "r.html")], ["baseline", str(run), "--out", str(tmp_path / "b.json")]):
            rc = cli.main(args)
            _, err = capsys.readouterr()
            assert rc == 2, (args, err)
            line = _one_error_line(err, prefix=f"bench {args[0]}: error: ")
            assert "holder (pid" in line and "run directory" in line, line
        with pytest.raises(RunBusyError, match="one writer at a time"), Store(run).writing():
            pass
    finally:
        holder.kill()  # kill -9: no cleanup code runs, the kernel drops the lock
        holder.wait()
    assert cli.main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    with Store(run).writing():
        pass


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_two_drivers_on_one_directory_give_one_record_per_job(tmp_path):
    """Two real ``bench run --resume`` on one folder at once: one runs, the other stops at the
    lock with one line, exit 2; each job is recorded exactly once."""
    slow = {"name": "slow", "base": "fault", "params": {"mode": "sleep", "seconds": 1.5}}
    raw = {**TINY, "tasks": [{"dataset": "iris"}], "candidates": ["dummy", slow], "folds": 3}
    suite = _write_suite(tmp_path, raw)
    first = _bench(["run", str(suite), "--out", "run", "--no-progress", "--jobs", "1"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    records = (tmp_path / "run" / "records.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "run" / "records.jsonl").write_bytes(b"".join(records[:1]))  # as if interrupted after one job
    cmd = [sys.executable, "-m", "benchmark", "run", str(suite), "--out", "run", "--resume", "--no-progress", "--jobs", "1"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    keys = [r["key"] for r in _job_records(tmp_path / "run")]
    assert len(keys) == len(set(keys)) == 6, keys
    assert codes in ([0, 0], [0, 2]), outs
    if codes == [0, 2]:
        loser = outs[[p.returncode for p in procs].index(2)][1]
        assert "another process is using this run directory" in _one_error_line(loser)
    assert not list((tmp_path / "run").rglob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# 5. damaged records.jsonl
# ---------------------------------------------------------------------------------------------


def test_parse_record_line_cuts_glued_nul_blocks_and_refuses_non_records():
    good = b'{"type": "job", "key": "k", "task": "t", "candidate": "c", "fold": 0}\n'
    assert parse_record_line(b"\x00" * 4096 + good)["key"] == "k"
    assert parse_record_line(good[:-1] + b"\x00" * 10 + b"\n")["key"] == "k"
    for bad in (b"42\n", b"[1, 2]\n", b'"text"\n', b"null\n", b"\xff\xfe\n", b'{"type": "job"}\n', b"\x00" * 100 + b"\n",
                b'{"type": "job", "key": 5, "task": "t", "candidate": "c", "fold": 0}\n'):
        assert parse_record_line(bad) is None, bad


def _damage(run: Path) -> list[str]:
    """Wipe record 2 with NULs glued to record 3 (a power loss), and make record 5 the JSON ``42``;
    return the keys of the two jobs lost."""
    lines = (run / "records.jsonl").read_bytes().splitlines(keepends=True)
    lost = [json.loads(lines[1])["key"], json.loads(lines[4])["key"]]
    lines[1] = b"\x00" * len(lines[1].rstrip(b"\n"))  # no newline left: glued to the next line
    lines[4] = b"42\n"
    (run / "records.jsonl").write_bytes(b"".join(lines))
    return lost


def _scores(run: Path) -> dict[str, tuple]:
    """Per job: the outcome and every test score and tuned parameter (no timings)."""
    out = {}
    for r in _job_records(run):
        out[r["key"]] = (r["state"], json.dumps({k: v for k, v in r.items() if k.startswith("test_")}, sort_keys=True),
                         json.dumps(r.get("best_params"), sort_keys=True))
    return out


@pytest.mark.timeout(400)
def test_damaged_records_are_skipped_once_then_resume_reruns_exactly_the_lost_jobs(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    lost = _damage(run)
    before = _snapshot(run)
    for args in (["report", "run", "--out", str(tmp_path / "r.html")], ["baseline", "run", "--out", str(tmp_path / "b.json"), "--allow-incomplete"], ["rank", "run"]):
        res = _bench(args, cwd=tmp_path)
        assert res.returncode == 0, (args, res.stderr)
        assert "Traceback" not in res.stderr
        warnings = [line for line in res.stderr.splitlines() if "records.jsonl" in line]
        if args[0] == "rank":  # reads results.csv, exported before the damage
            assert warnings == [], res.stderr
            continue
        assert len(warnings) == 1, (args, res.stderr)
        assert "skipping 1 damaged line (4)" in warnings[0] and "cutting NUL bytes" in warnings[0] and "from 1 line (2)" in warnings[0]
    assert _snapshot(run) == before  # readers never write
    # the suite lives next to the shared run; resume the copy through an absolute --out
    res = _bench(["-v", "run", str(tiny_run.parent / "suite.yaml"), "--out", str(run), "--resume", "--no-progress", "--jobs", "1"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "8 jobs, 6 already done, 2 to run" in res.stderr
    assert _scores(run) == _scores(tiny_run)
    new_keys = [r["key"] for r in _job_records(run)][-2:]
    assert sorted(new_keys) == sorted(lost)
    quarantined = (run / CORRUPT).read_bytes()
    assert b"42\n" in quarantined and b"\x00" not in (run / "records.jsonl").read_bytes()
    assert all(parse_record_line(line) is not None for line in (run / "records.jsonl").read_bytes().splitlines(keepends=True))


# ---------------------------------------------------------------------------------------------
# 8. JUnit XML, 9. CSV formulas
# ---------------------------------------------------------------------------------------------


def test_junit_xml_stays_well_formed_with_control_characters():
    from benchmark.ci.render import error_junit, xml_safe

    text = "fit failed: \x1b[31mred\x1b[0m \x00 nul \x08 bs \ud800 lone \ufffe ok\ttab"
    doc = error_junit(text)
    root = ET.fromstring(doc.split("\n", 1)[1].encode("utf-8"))
    error = root.find(".//error")
    assert error is not None and "\\x1b[31mred" in error.text and "\\x00 nul" in error.text and "\tab" not in error.text
    assert xml_safe("plain é ✓ \t\n") == "plain é ✓ \t\n"


@pytest.mark.parametrize("cell", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x"])
def test_csv_cells_that_look_like_formulas_are_neutralised_and_round_trip(cell):
    safe = csv_cell(cell)
    assert safe.startswith("'")
    assert csv_uncell(safe) == cell
    for plain in ("abc", "'quoted", "", 5, -1.5, None):
        assert csv_cell(plain) == plain


def test_results_and_trials_csv_hold_no_formula(tiny_run):
    for name in ("results.csv", "trials.csv"):
        frame = pd.read_csv(tiny_run / name, dtype=str, keep_default_na=False)
        cells = [c for col in frame.columns for c in frame[col]] + list(frame.columns)
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], name
        assert any(c.startswith("'=HYPERLINK") for c in cells) and any(c == "'@SUM(1+1)" for c in cells)
    from benchmark.results.table import ResultTable

    table = ResultTable.from_export(tiny_run)
    assert set(table.df["candidate"]) == {EVIL_CAND, "linear"} and set(table.df["task"]) == {EVIL_TASK, "-wine"}


# ---------------------------------------------------------------------------------------------
# 10. faults of the machine: one line, exit 2, nothing half-written
# ---------------------------------------------------------------------------------------------


def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


def test_a_full_disk_while_appending_leaves_no_half_record(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.append({"type": "note", "n": 1})
    size = store.records_path.stat().st_size
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[:7]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(InputError, match=r"cannot write .*records\.jsonl: the disk is full"):
        store.append({"type": "note", "n": 2})
    monkeypatch.undo()
    assert store.records_path.stat().st_size == size


@pytest.mark.parametrize("code, fix", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the file system is read-only"), (errno.EACCES, "permission denied")])
def test_atomic_writes_fail_cleanly(tmp_path, monkeypatch, code, fix):
    path = tmp_path / "results.csv"
    path.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _raise(code))
    with pytest.raises(InputError, match=f"cannot write {path}: {fix}"):
        write_text_atomic(path, "new\n" * 1000)
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]  # no 0-byte temporary left


@pytest.mark.timeout(300)
def test_a_full_disk_during_a_run_is_one_line(tmp_path, monkeypatch, capsys):
    from benchmark.results import store as store_mod

    suite = _write_suite(tmp_path, {**TINY, "tasks": [{"dataset": "iris"}], "candidates": ["dummy"]})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(store_mod.os, "fsync", _raise(errno.ENOSPC))
    rc = cli.main(["run", str(suite), "--out", "run", "--no-progress", "--jobs", "1"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert "the disk is full" in _one_error_line(err)
    assert not list((tmp_path / "run").glob("*.tmp")) and not list((tmp_path / "run").glob(".*.tmp"))


def test_an_out_folder_nobody_may_write_is_one_line(tmp_path, capsys):
    target = Path("/sys/bench-hostile-test/run")
    if not Path("/sys").is_dir() or os.access("/sys", os.W_OK) and not Path("/sys/fs").is_dir():
        pytest.skip("no read-only /sys here")
    suite = _write_suite(tmp_path, {**TINY, "tasks": [{"dataset": "iris"}], "candidates": ["dummy"]})
    rc = cli.main(["run", str(suite), "--out", str(target), "--no-progress", "--jobs", "1"])
    _, err = capsys.readouterr()
    assert rc == 2
    line = _one_error_line(err)
    assert "cannot write /sys/bench-hostile-test/run" in line and "--out" in line


def test_a_manifest_that_is_not_an_object(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("[]", encoding="utf-8")
    rc = cli.main(["report", str(tmp_path)])
    _, err = capsys.readouterr()
    assert rc == 2
    assert "manifest.json: holds a JSON list, not a run manifest" in _one_error_line(err, prefix="bench report: error: ")


def test_long_or_dotted_suite_names_make_a_safe_folder():
    from benchmark.results.layout import folder_name as _folder_name

    assert len(_folder_name("x" * 400)) == 100
    assert _folder_name("..") == "suite" and not _folder_name("../../etc").startswith(".")
    from benchmark.results.store import oof_path

    assert not any(part.startswith(".") for part in oof_path("r", "..", ".hidden", 0).parts[1:])


# ---------------------------------------------------------------------------------------------
# 11. reading an archived run writes nothing
# ---------------------------------------------------------------------------------------------


def test_report_elsewhere_writes_nothing_into_the_run(tiny_run, tmp_path):
    run = tmp_path / "archived"
    shutil.copytree(tiny_run, run)
    (run / LOCK).unlink(missing_ok=True)  # as archived by a tool that drops hidden files
    before = _snapshot(run)
    res = _bench(["report", str(run), "--out", str(tmp_path / "elsewhere.html")], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "elsewhere.html").is_file()
    assert _snapshot(run) == before  # same bytes, same inodes, same times: nothing rewritten


# ---------------------------------------------------------------------------------------------
# 13. noise and edges
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_is_like_ctrl_c_and_orphans_stay_quiet(tmp_path):
    slow = {"name": "slow", "base": "fault", "params": {"mode": "sleep", "seconds": 3}}
    suite = _write_suite(tmp_path, {**TINY, "tasks": [{"dataset": "iris"}], "candidates": [slow], "folds": 4})
    for sig, code, text in ((signal.SIGTERM, 143, "terminated (SIGTERM); completed jobs are saved"), (signal.SIGKILL, -9, None)):
        out = tmp_path / f"run-{sig}"
        proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(out), "--no-progress", "--jobs", "2"],
                                cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (out / "records.jsonl").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # workers are mid-job
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)  # returns when every holder of the pipe (workers too) is gone
        assert proc.returncode == code, err
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        if text:
            assert text in err


def test_rank_errors_name_the_file(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("dataset,a,b\nd1,0.9,\nd2,,0.8\nd3,0.7,0.6\n", encoding="utf-8")
    from benchmark.cli import rank

    assert rank.main([str(path)]) == 2
    _, err = capsys.readouterr()
    assert f"bench rank: error: {path}: need at least 2 datasets" in err


def test_fake_parquet_blames_the_path_field(tmp_path):
    from benchmark.data.loaders import load_file

    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot read as Parquet") as err:
        load_file(tmp_path / "x.parquet", target="y")
    assert err.value.where == "path"


# ---------------------------------------------------------------------------------------------
# 7. bench rank at scale
# ---------------------------------------------------------------------------------------------


def _bounds_by_definition(z: np.ndarray, thr: float):
    sums = np.round(z[:, None] + z[None, :], 12)
    n = z.size
    gt, eq_hi = (sums > thr).sum(axis=1), (sums == thr).sum(axis=1)
    lt, eq_lo = (sums < -thr).sum(axis=1), (sums == -thr).sum(axis=1)
    return n - gt, n - gt - eq_hi, lt, lt + eq_lo


@pytest.mark.parametrize("seed", range(5))
def test_signed_rank_bounds_by_binary_search_match_the_definition(seed):
    rng = np.random.default_rng(seed)
    z = np.sort(np.concatenate([[0.0], np.round(rng.normal(scale=0.05, size=300), 2)]))  # many ties and boundary sums
    for thr in (0.0, 0.02, 0.05):
        for ours, theirs in zip(stats._signed_rank_bounds(z, thr), _bounds_by_definition(z, thr), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_many_pairs_get_fewer_draws_with_a_note_and_can_skip():
    assert stats.bayes_draws(3, 20) == stats.BAYES_SAMPLES
    assert stats.bayes_draws(1225, 2000) == stats.BAYES_MIN_SAMPLES
    assert stats.bayes_draws(1225, 2000, 0) == 0
    rng = np.random.default_rng(0)
    block = pd.DataFrame(rng.uniform(size=(400, 12)), columns=[f"c{i}" for i in range(12)])
    seen = []
    res = stats.rank(block, n_boot=0, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (66, 66) and len(seen) == 66
    assert any("posterior draws per pair instead of 20,000" in n for n in res.notes)
    skipped = stats.rank(block, n_boot=0, bayes_samples=0)
    assert all(np.isnan(b.p_left) for b in skipped.bayes) and "Bayesian signed-rank test skipped" in skipped.notes


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_rank_2000_datasets_by_50_candidates_in_well_under_a_minute(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.6, 0.95, size=(2000, 1)) + rng.normal(0, 0.02, size=(2000, 50))
    frame = pd.DataFrame(scores, columns=[f"c{i}" for i in range(50)])
    frame.insert(0, "dataset", [f"d{i}" for i in range(2000)])
    frame.to_csv(tmp_path / "big.csv", index=False)
    t0 = time.process_time()
    from benchmark.cli import rank

    assert rank.main([str(tmp_path / "big.csv"), "--json", "--n-boot", "200"]) == 0
    assert time.process_time() - t0 < 45  # CPU seconds of this process: the load of other processes does not count
