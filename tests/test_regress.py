"""CI regression tracking: baselines, comparability, the decision rule, outputs and exit codes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

import benchmark.ci as regress
from benchmark.ci.rule import Options, Tolerance, compare
from benchmark.ci.snapshot import Snapshot
from benchmark.config import parse_suite
from benchmark.errors import IncompatibleRunError, InputError
from benchmark.run.driver import run_suite
from benchmark.stats import corrected_ttest

ROOT = Path(__file__).resolve().parent.parent
RF = {"name": "rf", "base": "random_forest", "params": {"n_estimators": 30}}
WEAK_RF = {"name": "rf", "base": "random_forest", "params": {"n_estimators": 1, "max_depth": 1}}  # one stump
CANDIDATES = ["dummy", "linear", "knn", RF]


def _bench(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------------------------
# Real runs (tiny: one dataset, four quick candidates, 5 folds, 2 trials, one job)
# --------------------------------------------------------------------------------------------


def _run(root: Path, name: str, candidates=CANDIDATES, **settings) -> Path:
    raw = {"name": "tiny", "folds": 5, "inner": 2, "trials": 2, "tasks": ["breast_cancer"], "candidates": candidates} | settings
    out = root / name
    run_suite(parse_suite(raw), out=out, jobs=1, progress=False)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "base": _run(root, "base"),
        "same": _run(root, "same"),  # a re-run with the same seeds
        "reseeded": _run(root, "reseeded", model_seed=1),  # same splits, other model/sampler seeds
        "weak": _run(root, "weak", candidates=["dummy", "linear", "knn", WEAK_RF]),
        "other_split": _run(root, "other_split", candidates=["dummy"], seed=1),
        "other_data": _run(root, "other_data", candidates=["dummy"], max_rows=300),
    }


def test_run_compared_with_itself_reports_nothing(runs):
    snap = regress.snapshot_from_run(runs["base"])
    res = compare(snap, snap)
    assert res.exit_code == 0 and not res.regressions and not res.improvements
    assert {c.candidate for c in res.comparisons} == {"dummy", "linear", "knn", "rf"}
    assert all(c.delta == 0 and c.n_folds == 5 for c in res.comparisons)


def test_rerun_with_the_same_seed_is_identical(runs):
    res = compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(runs["same"]))
    assert res.exit_code == 0
    assert all(c.delta == 0 for c in res.comparisons)
    assert not [f for f in res.findings if f.kind == "score" and f.status != "info"]


def test_other_model_seeds_are_fold_noise_not_regressions(runs):
    res = compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(runs["reseeded"]))
    assert res.exit_code == 0, res.to_text()
    assert not [f for f in res.findings if f.kind == "score" and f.status in ("regression", "improvement")]
    assert any(c.delta != 0 for c in res.comparisons)  # the seeds really changed something
    assert any("model_seed" in c for c in res.context)


def test_weakened_candidate_is_caught(runs):
    res = compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(runs["weak"]))
    assert res.exit_code == 1
    flagged = [f for f in res.regressions if f.kind == "score"]
    assert [(f.task, f.candidate) for f in flagged] == [("breast_cancer", "rf")]
    rf = next(c for c in res.comparisons if c.candidate == "rf")
    assert rf.score_status == "regression" and rf.gain < -rf.tolerance and rf.p_worse_holm < 0.05
    assert all(c.score_status == "ok" for c in res.comparisons if c.candidate != "rf")
    assert any("candidate 'rf': fixed params" in c for c in res.context)  # reported, not refused


def test_changed_split_is_refused_and_says_why(runs):
    with pytest.raises(IncompatibleRunError) as err:
        compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(runs["other_split"]))
    msg = str(err.value)
    assert "suite.seed 0 → 1" in msg and "task 'breast_cancer': split hash" in msg and "data hash" not in msg


def test_changed_data_is_refused_and_says_why(runs):
    with pytest.raises(IncompatibleRunError) as err:
        compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(runs["other_data"]))
    assert "task 'breast_cancer': data hash" in str(err.value)
    assert "suite.max_rows" not in str(err.value)  # a context change, the data hash is what refuses


def test_baseline_file_round_trip(runs, tmp_path):
    snap = regress.snapshot_from_run(runs["base"])
    path = regress.write_baseline(snap, tmp_path / "b" / "base.json")
    text = path.read_text()
    assert path.stat().st_size < 20_000 and text.count("\n") > len(snap.rows)  # one row per line
    back = regress.read_baseline(path)
    assert back.rows == snap.rows and back.tasks == snap.tasks
    assert back.meta["run_dir"] == str(runs["base"]) and back.source == str(path)
    data = json.loads(text)
    assert data["format"] == "bench-baseline" and data["version"] == 1
    assert compare(back, snap).exit_code == 0


def test_bad_baseline_files_are_input_errors(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError, match="baseline file not found"):
        regress.read_baseline(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        regress.read_baseline(bad)
    bad.write_text(json.dumps({"format": "bench-baseline", "version": 99}))
    with pytest.raises(InputError, match="version 99 is not supported"):
        regress.read_baseline(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(InputError, match="not a bench baseline"):
        regress.read_baseline(bad)


# --------------------------------------------------------------------------------------------
# The rule on synthetic snapshots
# --------------------------------------------------------------------------------------------

MACHINE = {"platform": "Linux-6.1-x86_64", "processor": "x86_64", "cpu_count": 2, "memory_gib": 23.5, "hostname": "a"}


def make_snap(cells: dict, *, metric: str = "roc_auc", fits: dict | None = None, failed: dict | None = None,
              machine: dict | None = None, versions: dict | None = None, protocol: dict | None = None,
              tasks: dict | None = None, source: str = "synthetic") -> Snapshot:
    """``cells``: {(task, candidate): [score per fold]}; ``fits``: {(task, candidate): seconds};
    ``failed``: {(task, candidate): [fold, ...]}."""
    rows = []
    for (task, cand), scores in cells.items():
        for fold, s in enumerate(scores):
            bad = fold in (failed or {}).get((task, cand), [])
            rows.append({"task": task, "candidate": cand, "fold": fold, "repeat": 0, "state": "failed" if bad else "ok",
                         "error": "ValueError: boom" if bad else None, "fold_hash": f"{task}-{fold}", "n_train": 400,
                         "n_test": 100, "fit_seconds": (fits or {}).get((task, cand), 0.2), "predict_seconds": 0.01,
                         "cpu_seconds": (fits or {}).get((task, cand), 0.2),
                         "scores": {} if bad else {metric: float(s)}})
    names = tasks or {t: {"data_hash": f"d-{t}", "split_hash": f"s-{t}", "kind": "regression" if metric in ("rmse", "mae") else "binary",
                          "metric": metric, "n_rows": 500} for t, _ in cells}
    meta = {"suite_name": "syn", "git_commit": "abc", "created": "2026-01-01T00:00:00+00:00",
            "versions": versions or {"scikit-learn": "1.5"}, "machine": machine or MACHINE,
            "protocol": {"folds": 5, "repeats": 1, "inner": 2, "seed": 0, "trials": 2} | (protocol or {}),
            "candidates": {c: {"base": c, "fixed": {}, "space_hash": "x"} for _, c in cells}, "candidate_order": [c for _, c in cells]}
    return Snapshot(source, meta, names, tuple(rows))


BASE = [0.90, 0.85, 0.93, 0.88, 0.91]


def _shifted(shift: float, noise: float = 0.0, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.array(BASE) + shift + noise * rng.standard_normal(len(BASE)))


def test_drop_inside_fold_noise_is_not_flagged():
    # mean drop 0.03 (beyond the tolerance) but the folds disagree wildly: not significant
    noisy = [BASE[0] + 0.06, BASE[1] - 0.12, BASE[2] + 0.05, BASE[3] - 0.10, BASE[4] + 0.01]
    res = compare(make_snap({("t", "m"): BASE}), make_snap({("t", "m"): noisy}))
    (c,) = res.comparisons
    assert c.gain < -c.tolerance and c.p_worse > 0.05 and c.score_status == "ok" and res.exit_code == 0


def test_consistent_drop_below_tolerance_is_not_flagged():
    res = compare(make_snap({("t", "m"): BASE}), make_snap({("t", "m"): _shifted(-0.005, 0.001)}))
    (c,) = res.comparisons
    assert c.p_worse_holm < 0.01 and c.score_status == "ok" and res.exit_code == 0


def test_consistent_drop_beyond_tolerance_is_flagged_and_gain_is_an_improvement():
    worse = compare(make_snap({("t", "m"): BASE}), make_snap({("t", "m"): _shifted(-0.03, 0.004)}))
    assert worse.exit_code == 1 and worse.regressions[0].kind == "score"
    better = compare(make_snap({("t", "m"): BASE}), make_snap({("t", "m"): _shifted(+0.03, 0.004)}))
    assert better.exit_code == 0 and [f.kind for f in better.improvements] == ["score"]


def test_lower_is_better_metric_and_default_relative_tolerance():
    base = [50.0, 55.0, 52.0, 58.0, 51.0]
    up = [v * 1.05 for v in base]  # 5 % worse RMSE
    res = compare(make_snap({("t", "m"): base}, metric="rmse"), make_snap({("t", "m"): up}, metric="rmse"))
    (c,) = res.comparisons
    assert not c.greater_is_better and c.gain < 0 and math.isclose(c.tolerance, 0.01 * np.mean(base))
    assert c.score_status == "regression" and res.exit_code == 1
    small = [v * 1.005 for v in base]  # 0.5 %: inside the default 1 % tolerance
    assert compare(make_snap({("t", "m"): base}, metric="rmse"), make_snap({("t", "m"): small}, metric="rmse")).exit_code == 0


def test_tolerance_option():
    assert Tolerance.parse("2%") == Tolerance(0.02, True)
    assert Tolerance.parse("0.05") == Tolerance(0.05, False)
    assert Tolerance.parse(None).amount("roc_auc", 0.9) == 0.01
    assert math.isclose(Tolerance.parse("10%").amount("roc_auc", 0.9), 0.09)
    for bad in ("abc", "-1", "nan"):
        with pytest.raises(InputError, match="--tolerance"):
            Tolerance.parse(bad)
    drop = _shifted(-0.03, 0.004)
    loose = Options(tolerance=Tolerance.parse("0.05"))
    assert compare(make_snap({("t", "m"): BASE}), make_snap({("t", "m"): drop}), loose).exit_code == 0


def test_one_sided_p_is_half_the_two_sided_p_in_the_direction_of_the_drop():
    a, b = np.array(_shifted(-0.02, 0.01, seed=3)), np.array(BASE)
    t = corrected_ttest(a, b, n_train=400, n_test=100)
    p_worse, p_better = regress.one_sided_p(a, b, n_train=400, n_test=100)
    assert t.statistic < 0 and math.isclose(p_worse, t.p_value / 2) and math.isclose(p_better, 1 - t.p_value / 2)
    assert math.isclose(p_worse, sps.t.cdf(t.statistic, t.df))
    assert regress.one_sided_p(b, b, n_train=400, n_test=100) == (0.5, 0.5)


def test_holm_across_comparisons():
    cells_a = {("t", f"m{i}"): BASE for i in range(4)}
    cells_b = {("t", f"m{i}"): _shifted(-0.03, 0.02, seed=i) for i in range(4)}
    res = compare(make_snap(cells_a), make_snap(cells_b))
    raw = np.array([c.p_worse for c in res.comparisons])
    order = np.argsort(raw)
    assert math.isclose(res.comparisons[order[0]].p_worse_holm, min(1.0, 4 * raw[order[0]]))
    assert all(c.p_worse_holm >= c.p_worse for c in res.comparisons)


def test_failures_missing_and_new():
    base = make_snap({("t", "a"): BASE, ("t", "b"): BASE, ("t", "c"): BASE, ("u", "a"): BASE}, failed={("t", "c"): [1]})
    cur = make_snap({("t", "a"): BASE, ("t", "c"): BASE, ("t", "d"): BASE}, failed={("t", "a"): [2, 3]})
    res = compare(base, cur)
    kinds = {(f.kind, f.status, f.task, f.candidate) for f in res.findings}
    assert ("failure", "regression", "t", "a") in kinds  # new failures
    assert ("failure", "improvement", "t", "c") in kinds  # fixed
    assert ("missing", "regression", "t", "b") in kinds  # candidate disappeared
    assert ("missing", "regression", "u", None) in kinds  # task disappeared
    assert ("new", "info", "t", "d") in kinds
    assert res.exit_code == 1
    a = next(c for c in res.comparisons if c.candidate == "a")
    assert a.new_failures == 2 and a.n_folds == 3 and "ValueError: boom" in a.errors[0]
    lenient = compare(base, cur, Options(allow_missing=True))
    assert {f.status for f in lenient.findings if f.kind == "missing"} == {"warning"}
    assert lenient.exit_code == 1  # the new failures still count


def test_time_regression_needs_ratio_and_floor_and_same_machine():
    cells = {("t", "slow"): BASE, ("t", "tiny"): BASE}
    base = make_snap(cells, fits={("t", "slow"): 0.5, ("t", "tiny"): 0.004})
    cur = make_snap(cells, fits={("t", "slow"): 1.6, ("t", "tiny"): 0.02})  # ×3.2 (+1.1 s) and ×5 (+16 ms)
    res = compare(base, cur)
    assert res.times_mode == "fail" and res.exit_code == 1
    assert [(f.kind, f.candidate) for f in res.regressions] == [("time", "slow")]
    other = make_snap(cells, fits={("t", "slow"): 1.6, ("t", "tiny"): 0.02}, machine=MACHINE | {"cpu_count": 4, "hostname": "b"})
    res = compare(base, other)
    assert res.times_mode == "warn" and res.exit_code == 0 and [f.candidate for f in res.warnings] == ["slow"]
    assert any("machine differs" in c for c in res.context)
    renamed = make_snap(cells, fits={("t", "slow"): 1.6}, machine=MACHINE | {"hostname": "runner-42"})
    assert compare(base, renamed).times_mode == "fail"  # the host name alone does not matter
    assert compare(base, cur, Options(times="off")).exit_code == 0
    assert compare(base, cur, Options(time_ratio=4.0)).exit_code == 0
    faster = compare(cur, base)
    assert [f.kind for f in faster.improvements] == ["time"]
    refit = make_snap(cells, fits={("t", "slow"): 0.5, ("t", "tiny"): 0.004})
    refit = Snapshot("x", refit.meta, refit.tasks, tuple(dict(r, cpu_seconds=r["cpu_seconds"] * 4) for r in refit.rows))
    assert compare(base, refit).exit_code == 1  # CPU seconds (the default) quadrupled
    assert compare(base, refit, Options(time_field="fit_seconds")).exit_code == 0  # the refit's wall time did not
    with pytest.raises(InputError, match="--time-field"):
        Options(time_field="nope")


def test_protocol_metric_and_fold_hash_changes_are_refused():
    base = make_snap({("t", "m"): BASE})
    with pytest.raises(IncompatibleRunError, match=r"suite\.folds 5 → 10"):
        compare(base, make_snap({("t", "m"): BASE}, protocol={"folds": 10}))
    other_metric = make_snap({("t", "m"): BASE}, tasks={"t": dict(base.tasks["t"], metric="accuracy")})
    with pytest.raises(IncompatibleRunError, match="task 't': tuning metric roc_auc → accuracy"):
        compare(base, other_metric)
    moved = Snapshot("x", base.meta, base.tasks, tuple(dict(r, fold_hash="zz") if r["fold"] == 2 else r for r in base.rows))
    with pytest.raises(IncompatibleRunError, match=r"fold hash differs on outer fold\(s\) 2"):
        compare(base, moved)
    with pytest.raises(IncompatibleRunError, match="no task in common"):
        compare(base, make_snap({("other", "m"): BASE}))


def test_budget_and_version_changes_are_context_not_refusals():
    base = make_snap({("t", "m"): BASE})
    cur = make_snap({("t", "m"): BASE}, versions={"scikit-learn": "1.6"}, protocol={"trials": 20, "model_seed": 7})
    res = compare(base, cur)
    assert res.exit_code == 0
    text = " ".join(res.context)
    assert "scikit-learn 1.5 → 1.6" in text and "suite.trials 2 → 20" in text and "suite.model_seed" in text
    assert "scikit-learn 1.5 → 1.6" in res.to_markdown() and "scikit-learn 1.5 → 1.6" in res.to_text()


def test_metric_option():
    base = make_snap({("t", "m"): BASE})
    with pytest.raises(InputError, match="--metric accuracy: not recorded"):
        compare(base, base, Options(metric="accuracy"))
    with pytest.raises(InputError, match="--alpha"):
        Options(alpha=1.5)


def test_markdown_and_junit_list_regressions_and_improvements():
    names = {("t", "worse"): BASE, ("t", "better"): BASE, ("t", "same"): BASE, ("t", "a|b<i>"): BASE}
    cur = {("t", "worse"): _shifted(-0.04, 0.003), ("t", "better"): _shifted(0.04, 0.003, seed=1),
           ("t", "same"): BASE, ("t", "a|b<i>"): BASE}
    res = compare(make_snap(names), make_snap(cur))
    assert res.exit_code == 1
    md = res.to_markdown()
    assert "1 regression(s)" in md and "**Regressions (1)**" in md and "**Improvements (1)**" in md
    assert "<i>" not in md and "a\\|b&lt;i&gt;" in md  # names cannot break the table or inject HTML
    root = ET.fromstring(res.to_junit_xml())
    assert root.tag == "testsuites" and int(root.get("failures")) == len(res.regressions) == 1
    cases = root.findall(".//testcase")
    assert int(root.get("tests")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["worse: roc_auc"] and failed[0].get("classname") == "bench.t"
    assert "improvement" in root.find("testsuite/system-out").text and "better" in root.find("testsuite/system-out").text
    text = res.to_text()
    assert "REGRESSIONS (1)" in text and "Improvements (1)" in text and "RESULT: FAIL" in text
    assert json.loads(json.dumps(res.to_dict()))["exit_code"] == 1


def test_error_outputs_parse():
    root = ET.fromstring(regress.error_junit("data <changed> & more"))
    assert root.get("errors") == "1" and "data <changed>" in root.find(".//error").get("message")
    assert "&lt;changed&gt;" in regress.error_markdown("data <changed>")


# --------------------------------------------------------------------------------------------
# Command line: exit codes and outputs
# --------------------------------------------------------------------------------------------


def test_cli_exit_codes_and_outputs(runs, tmp_path):
    baseline = tmp_path / "baseline.json"
    made = _bench("baseline", str(runs["base"]), "--out", str(baseline))
    assert made.returncode == 0, made.stderr
    assert baseline.is_file() and "4 candidate(s), 20 fold results" in made.stdout

    ok = _bench("regress", str(baseline), str(runs["reseeded"]), "--markdown", str(tmp_path / "ok.md"), "--junit", str(tmp_path / "ok.xml"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "RESULT: PASS" in ok.stdout and "no regression" in (tmp_path / "ok.md").read_text()
    root = ET.parse(tmp_path / "ok.xml").getroot()
    assert root.get("failures") == "0" and int(root.get("tests")) >= 8

    bad = _bench("regress", str(baseline), str(runs["weak"]), "--markdown", str(tmp_path / "bad.md"),
                 "--junit", str(tmp_path / "bad.xml"), "--json", str(tmp_path / "bad.json"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "REGRESSION" in bad.stdout and "RESULT: FAIL" in bad.stdout
    md = (tmp_path / "bad.md").read_text()
    assert "Regressions (" in md and "breast\\_cancer / rf" in md
    root = ET.parse(tmp_path / "bad.xml").getroot()
    data = json.loads((tmp_path / "bad.json").read_text())
    n_reg = sum(f["status"] == "regression" for f in data["findings"])
    assert int(root.get("failures")) == n_reg >= 1
    assert any(c.find("failure") is not None and c.get("name") == "rf: roc_auc" for c in root.iter("testcase"))

    refused = _bench("regress", str(baseline), str(runs["other_split"]), "--markdown", str(tmp_path / "no.md"), "--junit", str(tmp_path / "no.xml"))
    assert refused.returncode == 2 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench regress: error: ") and "split hash" in lines[0]
    assert "not comparable" in (tmp_path / "no.md").read_text()
    assert ET.parse(tmp_path / "no.xml").getroot().get("errors") == "1"

    quiet = _bench("regress", str(runs["base"]), str(runs["same"]), "-q")  # two run directories work too
    assert quiet.returncode == 0 and quiet.stdout.strip().startswith("RESULT: PASS")


def test_cli_bad_input_is_exit_2(runs, tmp_path):
    missing = _bench("regress", str(tmp_path / "nope.json"), str(runs["base"]))
    assert missing.returncode == 2 and "nope.json: no such file or directory" in missing.stderr
    not_run = _bench("baseline", str(tmp_path))
    assert not_run.returncode == 2 and "not a run directory" in not_run.stderr
    tol = _bench("regress", str(runs["base"]), str(runs["base"]), "--tolerance", "lots")
    assert tol.returncode == 2 and "--tolerance 'lots'" in tol.stderr
    alpha = _bench("regress", str(runs["base"]), str(runs["base"]), "--alpha", "2")
    assert alpha.returncode == 2


def test_baseline_refuses_an_incomplete_run(runs, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(runs["base"], partial)
    lines = (partial / "records.jsonl").read_text().splitlines(keepends=True)
    (partial / "records.jsonl").write_text("".join(lines[:-3]))
    res = _bench("baseline", str(partial), "--out", str(tmp_path / "b.json"))
    assert res.returncode == 2 and "run is incomplete" in res.stderr and "--resume" in res.stderr
    assert _bench("baseline", str(partial), "--out", str(tmp_path / "b.json"), "--allow-incomplete").returncode == 0
    # compared as the current run, the missing folds are regressions
    out = compare(regress.snapshot_from_run(runs["base"]), regress.snapshot_from_run(partial))
    assert out.exit_code == 1 and {f.kind for f in out.regressions} == {"failure"}


def test_help_lists_the_commands():
    res = _bench("--help")
    assert all(cmd in res.stdout for cmd in ("baseline", "regress", "history"))
    assert _bench("regress", "--help").returncode == 0
