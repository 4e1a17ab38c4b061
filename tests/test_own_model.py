"""Your own model in a fair comparison (issue 13): ``Candidate`` from Python, ``estimator:`` from
YAML, spaces and parameters checked at the boundary, and a library call that never hangs or guesses."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import optuna.distributions as od
import pandas as pd
import pytest
from scipy.stats import loguniform, norm, randint, uniform
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmark import Candidate, compare
from benchmark.candidates.custom import convert_space
from benchmark.errors import InputError
from benchmark.results.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = {"trials": 2, "folds": 2, "inner": 2, "learning_curve": False, "budget_curve": False}

# A classifier defined in a "__main__" scope, as in a script or a notebook: pickle would look it up
# by reference in the worker's __main__ (where it does not exist); it has to travel by value.
_MAIN_SRC = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

class NotebookModel(BaseEstimator, ClassifierMixin):
    def __init__(self, C=1.0, shrink=0.0):
        self.C, self.shrink = C, shrink

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        p = self.model_.predict_proba(X)
        return (1 - self.shrink) * p + self.shrink / p.shape[1]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
'''


def _main_scope_class():
    scope: dict = {"__name__": "__main__"}
    exec(_MAIN_SRC, scope)  # noqa: S102 - test source above
    cls = scope["NotebookModel"]
    assert cls.__module__ == "__main__" and not hasattr(sys.modules["__main__"], "NotebookModel")
    return cls


def _data(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = pd.Series(np.where(X["a"] + 0.5 * rng.normal(size=n) > 0, "yes", "no"))
    return X, y


def _job_records(run_dir):
    keep = ("candidate", "fold", "state", "best_params", "test_roc_auc", "test_log_loss", "n_trials")
    recs = [r for r in Store(run_dir).records() if r.get("type") == "job"]
    out = {(r["candidate"], r["fold"]): {k: r.get(k) for k in keep} | {"trials": [(t["number"], t["params"], t["value"]) for t in r["trials"]]} for r in recs}
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------
# space forms


def test_every_space_form_converts_to_our_spec():
    space, fixed = convert_space({
        "lr": loguniform(1e-3, 0.3), "depth": randint(2, 8), "frac": uniform(0.2, 0.5),
        "sub": od.FloatDistribution(0.5, 1.0), "leaves": od.IntDistribution(4, 64, log=True),
        "loss": od.CategoricalDistribution(["a", "b"]), "crit": ["gini", "entropy"],
        "C": {"low": 0.01, "high": 10.0, "log": True}, "k": {"low": 1, "high": 9}, "w": {"choices": [None, "balanced"]},
        "n_estimators": 50,
    })
    assert space["lr"] == {"type": "float", "low": 1e-3, "high": 0.3, "log": True}
    assert space["depth"] == {"type": "int", "low": 2, "high": 7, "log": False}  # scipy's randint excludes high
    assert space["frac"] == {"type": "float", "low": 0.2, "high": pytest.approx(0.7), "log": False}
    assert space["sub"]["type"] == "float" and space["leaves"] == {"type": "int", "low": 4, "high": 64, "log": True}
    assert space["loss"]["choices"] == ["a", "b"] and space["crit"]["choices"] == ["gini", "entropy"]
    assert space["C"]["log"] is True and space["k"]["type"] == "int" and space["w"]["type"] == "categorical"
    assert fixed == {"n_estimators": 50}


BAD_SPACES = [
    ({"max_depth": {"low": 5, "high": 2}}, r"compare\(candidates\[0\]\.space\.max_depth\): low \(5\) is above high"),
    ({"learning_rate": {"low": 0.0, "high": 0.3, "log": True}}, r"space\.learning_rate\): a log-scale range needs low > 0"),
    ({"loss": []}, r"space\.loss\): an empty list of choices"),
    ({"loss": {"choices": []}}, r"space\.loss\): categorical needs a non-empty list"),
    ({"learning_rate": {"low": 0.01, "high": 0.3, "log": "no"}}, r"space\.learning_rate\): 'log' must be true or false \(got 'no'\)"),
    ({"learning_rate": {"low": "small", "high": 0.3}}, r"space\.learning_rate\): 'low' must be a number"),
    ({"learning_rate": {"low": 0.1, "hi": 0.3}}, r"space\.learning_rate\): unknown key 'hi'"),
    ({"learning_rate": norm(0, 1)}, r"space\.learning_rate\): scipy\.stats\.norm cannot be searched"),
    ({"learning_rate": object()}, r"space\.learning_rate\): unsupported search-space entry object"),
]


@pytest.mark.parametrize("space, pattern", BAD_SPACES)
def test_bad_space_is_one_line_naming_the_argument(space, pattern):
    X, y = _data(40)
    with pytest.raises(InputError, match=pattern) as err:
        compare(X, y, candidates=[Candidate("mine", GradientBoostingClassifier(), space=space)], **FAST)
    assert "\n" not in str(err.value)


BAD_PARAMS = [
    # issue 12's item 12: values the estimator's declared constraints reject, before any fit
    ([{"name": "rf", "base": "random_forest", "params": {"n_estimators": "lots"}}], r"compare\(candidates\[0\]\.params\.n_estimators\): .*'n_estimators' parameter of RandomForest"),
    ([{"name": "rf", "base": "random_forest", "params": {"max_depth": -5}}], r"compare\(candidates\[0\]\.params\.max_depth\): .*Got -5 instead"),
    ([{"name": "knn", "space": {"n_neighbors": 0}}], r"compare\(candidates\[0\]\.space\.n_neighbors\): .*'n_neighbors' parameter of KNeighbors"),
    ([{"name": "linear", "space": {"C": {"low": 0.1, "high": 1.0, "log": "no"}}}], r"compare\(candidates\[0\]\.space\.C\): 'log' must be true or false"),
    ([Candidate("mine", GradientBoostingClassifier(), params={"max_depth": -5})], r"compare\(candidates\[0\]\.params\.max_depth\): .*GradientBoostingClassifier"),
    ([Candidate("mine", GradientBoostingClassifier(), space={"subsample": {"low": 0.5, "high": 2.0}})], r"compare\(candidates\[0\]\.space\.subsample\): .*'subsample' parameter"),
    ([Candidate("mine", GradientBoostingClassifier(), space={"no_such": [1, 2]})], r"compare\(candidates\[0\]\): .*rejects its parameters.*no_such"),
    ([Candidate("mine", GradientBoostingClassifier(), preprocess="maybe")], r"compare\(candidates\[0\]\.preprocess\): must be one of auto, none"),
    ([Candidate("mine", "GradientBoostingClassifier")], r"compare\(candidates\[0\]\.estimator\): give an estimator instance"),
]


@pytest.mark.parametrize("candidates, pattern", BAD_PARAMS)
def test_bad_parameter_is_one_line_before_any_fit(candidates, pattern, tmp_path):
    X, y = _data(40)
    with pytest.raises(InputError, match=pattern) as err:
        compare(X, y, candidates=candidates, out=tmp_path / "run", **FAST)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "run" / "records.jsonl").exists()


def test_register_validates_the_space_at_once():
    from benchmark.candidates import CandidateSpec, register
    from benchmark.candidates.catalog import get_spec

    def factory(schema, params, *, seed, n_threads):
        return LogisticRegression(**params)

    register(CandidateSpec("own_reg", "linear", factory, {"classification": {"C": {"type": "int", "low": 1, "high": 5}}}, "test"), replace=True)
    assert get_spec("own_reg").spaces["classification"]["C"]["log"] is False  # normalised: no KeyError 'log' at fit time
    with pytest.raises(InputError, match=r"register\(own_bad\)\.spaces\.classification\.C: low \(5\) is above high"):
        register(CandidateSpec("own_bad", "linear", factory, {"classification": {"C": {"type": "int", "low": 5, "high": 1}}}, "test"))


# ---------------------------------------------------------------------------------------------
# your own estimator, wherever it runs


def _compare_main_scope(out, **kw):
    cls = _main_scope_class()
    X, y = _data(80)
    mine = Candidate("mine", cls(), space={"C": loguniform(0.01, 10.0), "shrink": [0.0, 0.2]})
    return compare(X, y, candidates=["dummy", mine], out=out, **kw, **FAST)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same comparison with a __main__-scope estimator run inline and on 2 spawned workers."""
    return {label: _compare_main_scope(tmp_path_factory.mktemp(label) / "run", jobs=jobs) for label, jobs in (("inline", 1), ("spawned", 2))}


def test_own_estimator_from_main_gives_the_same_records_on_spawned_workers(runs):
    inline = _job_records(runs["inline"].run_dir)
    assert {k[0] for k in inline} == {"dummy", "mine"} and all(r["state"] == "ok" for r in inline.values())
    assert _job_records(runs["spawned"].run_dir) == inline


@pytest.mark.slow
def test_own_estimator_from_main_gives_the_same_records_on_dask_local(runs, tmp_path):
    dask = _compare_main_scope(tmp_path / "run", jobs=2, executor="dask-local")
    assert _job_records(dask.run_dir) == _job_records(runs["inline"].run_dir)


def test_own_estimator_gets_the_same_budget_and_trial_0_is_its_own_params(runs):
    res = runs["inline"]
    assert set(res.results.groupby("candidate")["n_trials"].max()) == {FAST["trials"]}
    trials = res.trials
    first = trials[(trials.candidate == "mine") & (trials.number == 0)]
    assert all(p == {} for p in first["params"])  # trial 0: the estimator as given (C=1.0, shrink=0.0)
    assert isinstance(res.results["best_params"].iloc[0], dict)
    manifest = Store(res.run_dir).read_manifest()
    assert manifest["candidates"]["mine"]["base"] == "estimator"
    assert manifest["candidates"]["mine"]["estimator"].startswith("__main__:NotebookModel")


def test_best_estimator_predicts_original_labels_on_new_rows(runs):
    res = runs["inline"]
    model = res.best_estimator_
    X_new, _ = _data(15, seed=7)
    pred = model.predict(X_new)
    assert model.candidate == res.leaderboard["candidate"].iloc[0] == "mine"
    assert len(pred) == 15 and set(pred) <= {"yes", "no"}
    assert model.predict_proba(X_new).shape == (15, 2)
    assert len(model.tuning.trials) == FAST["trials"]  # tuned with the same budget, on all rows
    assert res.best_estimator_ is model  # fitted once


def test_a_worker_that_cannot_load_the_estimator_records_infrastructure():
    import dataclasses

    from benchmark.config import Suite
    from benchmark.data.build import from_frame
    from benchmark.run.driver import expand_jobs, make_plans
    from benchmark.run.worker import preload_tasks, run_job

    X, y = _data(40)
    task = from_frame(X, y, name="t")
    cfg = dataclasses.replace(Candidate("mine", LogisticRegression()).to_config(), estimator=b"not a pickle")
    suite = Suite(name="t", tasks=(), candidates=(cfg,), metric={"classification": "roc_auc", "regression": "rmse"}, folds=2, inner=2, trials=1)
    suite = dataclasses.replace(suite, tasks=(__import__("benchmark.data.task", fromlist=["TaskConfig"]).TaskConfig(name="t"),))
    preload_tasks({"t": task})
    job = expand_jobs(suite, {"t": task}, make_plans(suite, {"t": task}), in_memory=True, n_threads=1)[0]
    rec = run_job(job)
    assert rec["state"] == "failed" and rec["error_kind"] == "infrastructure"
    assert "could not be loaded in this worker" in rec["error"]
    # a worker that does not know a registered name (registered only in the driver): infrastructure too
    unknown = dataclasses.replace(job, candidate=dataclasses.replace(job.candidate, base="only_in_the_driver", estimator=None))
    rec = run_job(unknown)
    assert rec["error_kind"] == "infrastructure" and "unknown candidate 'only_in_the_driver'" in rec["error"]


def test_pipeline_and_class_and_preprocess_none(tmp_path):
    X, y = _data(60)
    X["cat"] = pd.Categorical(np.where(X["b"] > 0, "p", "q"))
    own_prep = make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), list("abcd")))
    cands = [
        Candidate("pipe", make_pipeline(own_prep, LogisticRegression()), space={"logisticregression__C": [0.1, 1.0]}),  # taken as given
        Candidate("cls", LogisticRegression, space={"C": od.FloatDistribution(0.1, 1.0)}),
        Candidate("raw", GradientBoostingClassifier(n_estimators=5), preprocess="none"),  # gets the frame as is: NaN-free, but a category column
        GradientBoostingClassifier(n_estimators=5),  # a bare estimator: named after its class
    ]
    res = compare(X, y, candidates=cands, out=tmp_path / "r", **FAST)
    lb = res.leaderboard.set_index("candidate")
    assert lb.loc[["pipe", "cls", "GradientBoostingClassifier"], "n_failed"].eq(0).all()
    # GradientBoosting cannot take a string category column as given: that fails, as documented, and stays on the board
    assert lb.loc["raw", "n_failed"] == 2 and lb.index[-1] == "raw"


# ---------------------------------------------------------------------------------------------
# YAML estimator:


def test_yaml_estimator_candidate_runs_end_to_end_with_the_same_budget(tmp_path):
    from benchmark import cli

    suite = tmp_path / "mine.yaml"
    suite.write_text(textwrap.dedent("""
        name: mine
        folds: 2
        inner: 2
        trials: 3
        learning_curve: false
        budget_curve: false
        tasks:
          - {dataset: breast_cancer, max_rows: 80}
        candidates:
          - dummy
          - name: my_gb
            estimator: sklearn.ensemble:GradientBoostingClassifier
            params: {subsample: 0.8, n_estimators: 10}
            space: {learning_rate: {low: 0.001, high: 0.3, log: true}, max_depth: {low: 2, high: 4}}
    """))
    assert cli.main(["run", str(suite), "--out", str(tmp_path / "run"), "--jobs", "1"]) == 0
    recs = [r for r in Store(tmp_path / "run").records() if r.get("type") == "job"]
    mine = [r for r in recs if r["candidate"] == "my_gb"]
    assert len(mine) == 2 and all(r["state"] == "ok" and r["n_trials"] == 3 and r["base"] == "estimator" for r in mine)
    assert {r["n_trials"] for r in recs} == {3}
    assert all(0.001 <= t["params"].get("learning_rate", 0.1) <= 0.3 for r in mine for t in r["trials"])


@pytest.mark.parametrize("estimator, text", [
    ("no_such_package.models:Model", "candidates[0].estimator: cannot import module 'no_such_package.models' (ModuleNotFoundError"),
    ("sklearn.ensemble:NoSuchModel", "candidates[0].estimator: module 'sklearn.ensemble' has no attribute 'NoSuchModel'"),
    ("__import__('os').system('true')", "candidates[0].estimator: write an import path 'package.module:Name'"),
])
def test_yaml_estimator_errors_are_one_line_naming_suite_field_module(estimator, text, tmp_path, capsys):
    from benchmark import cli

    suite = tmp_path / "bad.yaml"
    suite.write_text(f'tasks: [iris]\ncandidates:\n  - {{name: mine, estimator: "{estimator}"}}\n')
    assert cli.main(["run", str(suite), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{suite}: {text}" in err


# ---------------------------------------------------------------------------------------------
# never hangs, never guesses


def _script(tmp_path, body: str) -> Path:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(body))
    return path


def _run_script(path: Path, timeout: float):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t = time.monotonic()
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=timeout, cwd=path.parent, env=env)
    return proc, time.monotonic() - t


_NO_GUARD = '''
    import numpy as np
    from benchmark import compare
    print("SCRIPT RAN", flush=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    r = compare(X, y, candidates="linear", trials=1, folds=2, inner=2, jobs=2, learning_curve=False, budget_curve=False, progress=False)
    print("DONE", r.leaderboard["candidate"].tolist())
'''


def test_script_without_main_guard_and_jobs_2_finishes_without_rerunning_itself(tmp_path):
    proc, seconds = _run_script(_script(tmp_path, _NO_GUARD), timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("SCRIPT RAN") == 1  # the workers never re-ran the script
    assert "DONE ['linear']" in proc.stdout


def test_compare_reached_while_a_spawned_child_bootstraps_is_a_clear_error_in_seconds(tmp_path):
    # The user's own spawn pool re-runs the unguarded script; the compare() it reaches fails at once.
    body = '''
        import multiprocessing as mp, os
        import numpy as np
        from benchmark import compare
        if os.environ.get("RERUN_BY_SPAWN"):  # the re-run inside the child
            compare(np.zeros((20, 2)), np.arange(20) % 2, candidates="dummy")
        else:
            os.environ["RERUN_BY_SPAWN"] = "1"
            p = mp.get_context("spawn").Process(target=print, args=("child",))
            p.start(); p.join(60)
            print("CHILD EXIT", p.exitcode)
    '''
    proc, seconds = _run_script(_script(tmp_path, body), timeout=90)  # two interpreter starts: ~5 s quiet, ~30 s under load
    assert "CHILD EXIT 1" in proc.stdout
    assert 'compare(): called while a worker process was starting' in proc.stderr
    assert 'put the call under `if __name__ == "__main__":`' in proc.stderr
    assert seconds < 90


def test_worker_start_up_has_a_timeout():
    from benchmark.run.executors.local import ProcessExecutor

    pool = ProcessExecutor(1, start_timeout=0.0)
    try:
        with pytest.raises(RuntimeError, match=r"did not start within 0 s"):
            list(pool.run([object()]))
    finally:
        pool.close(cancel=True)


def test_pandas_indexes_are_aligned_by_label_or_refused():
    from benchmark.data.build import from_frame

    X, y = _data(40)
    X.index = np.arange(100, 140)
    y.index = X.index
    shuffled = y.sample(frac=1.0, random_state=0)
    a, b = from_frame(X, y), from_frame(X, shuffled)
    assert np.array_equal(a.y, b.y) and a.data_hash == b.data_hash  # matched by label, not position
    with pytest.raises(InputError, match=r"y of in-memory data 'data' has an index that does not match X's.*y = y\.loc\[X\.index\]"):
        from_frame(X, y.reset_index(drop=True))


def test_infinite_values_are_one_input_error_in_compare_and_in_suite_files(tmp_path, capsys):
    from benchmark import cli

    X, y = _data(40)
    X.loc[3, "b"] = np.inf
    X.loc[5, "b"] = -np.inf
    with pytest.raises(InputError, match=r"infinite values \(inf/-inf\) in feature column\(s\) 'b' \(2\); replace them with NaN"):
        compare(X, y, candidates="dummy", **FAST)
    X.assign(target=y).to_csv(tmp_path / "inf.csv", index=False)
    suite = tmp_path / "s.yaml"
    suite.write_text("tasks: [{path: inf.csv, target: target}]\ncandidates: [dummy]\n")
    assert cli.main(["run", str(suite), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "infinite values" in err and "'b' (2)" in err


def test_single_string_failed_candidate_leaderboard_report_folder_and_cleanup(tmp_path):
    X, y = _data(40)
    res = compare(X, y, candidates="dummy", **FAST)  # one string = one candidate
    assert res.leaderboard["candidate"].tolist() == ["dummy"]
    run_dir = res.run_dir
    report = res.write_report(tmp_path / "new" / "deeper" / "r.html")  # parents created
    assert report.is_file()
    del res
    gc.collect()
    assert not run_dir.exists()  # the temporary run folder went with the result

    crashy = {"name": "crashy", "base": "fault", "params": {"mode": "raise"}}
    res = compare(X, y, candidates=["linear", crashy], out=tmp_path / "kept", **FAST)
    lb = res.leaderboard
    assert lb["candidate"].tolist() == ["linear", "crashy"]  # failed: kept, ranked last
    assert lb.set_index("candidate").loc["crashy", "n_failed"] == 2 and np.isnan(lb["roc_auc_mean"].iloc[-1])
    assert lb["mean_rank"].tolist() == [1.0, 2.0]
    assert (tmp_path / "kept" / "records.jsonl").is_file()


def test_version_and_typing_marker():
    import benchmark
    from benchmark import cli

    assert benchmark.__version__ and (Path(benchmark.__file__).parent / "py.typed").is_file()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0


def test_compare_docstrings_are_numpydoc():
    import benchmark

    for obj in (benchmark.compare, benchmark.CompareResult.fit_best, benchmark.CompareResult.write_report):
        doc = obj.__doc__
        assert "Returns\n" in doc and "-------" in doc
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"{section}\n    ----" in benchmark.compare.__doc__
    assert "Parameters\n    ----" in benchmark.Candidate.__doc__ and "Examples" in benchmark.Candidate.__doc__


# ---------------------------------------------------------------------------------------------
# the README section executes


def _readme_blocks(lang: str) -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Compare your own model", 1)[1].split("\n## ", 1)[0]
    blocks = section.split(f"```{lang}\n")[1:]
    return [b.split("```", 1)[0] for b in blocks]


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 1])
def test_readme_python_snippets_run(index, tmp_path):
    code = _readme_blocks("python")[index]
    if index == 1:  # notebook style: the last expression is displayed; print it as a script would
        code += "\nprint(result.leaderboard)\n"
    proc, _ = _run_script(_script(tmp_path, code), timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "roc_auc_mean" in proc.stdout


@pytest.mark.slow
def test_readme_yaml_snippet_runs(tmp_path):
    from benchmark import cli

    (tmp_path / "mine.yaml").write_text(_readme_blocks("yaml")[-1])
    assert cli.main(["run", str(tmp_path / "mine.yaml"), "--out", str(tmp_path / "run"), "--jobs", "1"]) == 0
    recs = [r for r in Store(tmp_path / "run").records() if r.get("type") == "job"]
    assert {r["candidate"] for r in recs} == {"linear", "my_gb"} and all(r["state"] == "ok" for r in recs)


def test_a_candidate_registered_in_process_is_refused_for_workers_in_one_line():
    from benchmark.candidates import CandidateSpec, register

    def factory(schema, params, *, seed, n_threads):
        return LogisticRegression(**params)

    register(CandidateSpec("own_in_process", "linear", factory, {}, "test"), replace=True)
    X, y = _data(40)
    with pytest.raises(InputError, match=r"compare\(candidates\[0\]\): candidate 'own_in_process' was added with register\(\) in this process.*benchmark\.Candidate"):
        compare(X, y, candidates="own_in_process", jobs=2, **FAST)
    assert compare(X, y, candidates="own_in_process", **FAST).leaderboard["n_failed"].tolist() == [0]  # inline: fine


def test_progress_is_on_by_default_only_when_stderr_is_a_terminal(monkeypatch):
    import benchmark.run.driver as driver

    seen = []

    def fake_run_suite(*args, **kwargs):
        seen.append(kwargs["progress"])
        raise InputError("stop here")

    monkeypatch.setattr(driver, "run_suite", fake_run_suite)
    X, y = _data(40)
    for tty in (True, False):
        monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty)
        with pytest.raises(InputError, match="stop here"):
            compare(X, y, candidates="dummy", **FAST)
    assert seen == [True, False]
