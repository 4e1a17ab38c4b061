"""Tests for benchmark.config: parse_suite/load_suite defaults, metrics, candidate variants,
hashing, overrides and one-line errors that name the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.candidates import get_spec
from benchmark.config import Suite, TaskConfig, load_suite, parse_suite
from benchmark.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]


def _suite(**fields):
    """A minimal valid suite mapping with ``fields`` added or replaced."""
    raw = {"tasks": [{"dataset": "iris"}], "candidates": ["dummy"]}
    raw.update(fields)
    return raw


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    return text


# ---------------------------------------------------------------------------------------------
# defaults and basic shapes
# ---------------------------------------------------------------------------------------------


def test_defaults():
    s = parse_suite(_suite())
    assert isinstance(s, Suite)
    assert s.name == "suite"
    assert s.seed == 0
    assert s.folds == 5
    assert s.repeats == 1
    assert s.inner == 3
    assert s.trials == 20
    assert s.seconds is None
    assert s.timeout is None
    assert s.sampler == "tpe"
    assert s.description == ""
    assert dict(s.metric) == {"classification": "roc_auc", "regression": "rmse"}
    assert s.tasks == (TaskConfig(name="iris", dataset="iris"),)
    assert [c.name for c in s.candidates] == ["dummy"]
    assert s.candidates[0].base == "dummy"


def test_tasks_and_candidates_as_plain_strings():
    s = parse_suite({"tasks": ["iris", "diabetes"], "candidates": ["dummy", "linear"]})
    assert [t.name for t in s.tasks] == ["iris", "diabetes"]
    assert [t.dataset for t in s.tasks] == ["iris", "diabetes"]
    assert [c.name for c in s.candidates] == ["dummy", "linear"]


def test_file_task_fields_and_default_name():
    s = parse_suite(
        _suite(
            tasks=[
                {
                    "path": "data/credit.csv",
                    "target": "y",
                    "drop": "id",
                    "kind": "binary",
                    "max_rows": 100,
                }
            ]
        )
    )
    t = s.tasks[0]
    assert t.name == "credit"
    assert t.path == "data/credit.csv"
    assert t.target == "y"
    assert t.drop == ("id",)
    assert t.kind == "binary"
    assert t.max_rows == 100


def test_suite_max_rows_is_the_task_default():
    s = parse_suite(
        _suite(max_rows=500, tasks=[{"dataset": "iris"}, {"dataset": "wine", "max_rows": 50}])
    )
    assert [t.max_rows for t in s.tasks] == [500, 50]


def test_explicit_settings():
    s = parse_suite(
        _suite(
            name="mine",
            seed=7,
            folds=3,
            repeats=2,
            inner=2,
            trials=4,
            seconds=30,
            sampler="random",
            timeout=60,
            description="d",
        )
    )
    assert (s.name, s.seed, s.folds, s.repeats, s.inner, s.trials, s.sampler, s.description) == (
        "mine",
        7,
        3,
        2,
        2,
        4,
        "random",
        "d",
    )
    assert s.seconds == 30.0 and isinstance(s.seconds, float)
    assert s.timeout == 60.0


@pytest.mark.parametrize("inner", [{"holdout": 0.2}, 0.2])
def test_inner_holdout(inner):
    assert parse_suite(_suite(inner=inner)).inner == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("inner", "where"),
    [
        ({"holdout": 0.2, "folds": 3}, "inner"),
        ({"holdout": "x"}, "inner.holdout"),
        (1, "inner"),
        (1.5, "inner"),
        (True, "inner"),
    ],
)
def test_inner_errors(inner, where):
    with pytest.raises(InputError, match=rf"^{re.escape(where)}: "):
        parse_suite(_suite(inner=inner))


# ---------------------------------------------------------------------------------------------
# metric
# ---------------------------------------------------------------------------------------------


def test_metric_as_a_classification_name():
    s = parse_suite(_suite(metric="accuracy"))
    assert s.metric_for("binary") == "accuracy"
    assert s.metric_for("multiclass") == "accuracy"
    assert s.metric_for("regression") == ""  # the runner refuses regression tasks for this suite


def test_metric_as_a_regression_name():
    s = parse_suite(_suite(metric="mae"))
    assert s.metric_for("regression") == "mae"
    assert s.metric_for("binary") == ""


def test_metric_as_a_mapping_fills_the_other_kind_with_its_default():
    s = parse_suite(_suite(metric={"classification": "log_loss"}))
    assert s.metric_for("binary") == "log_loss"
    assert s.metric_for("regression") == "rmse"
    s = parse_suite(_suite(metric={"classification": "accuracy", "regression": "r2"}))
    assert dict(s.metric) == {"classification": "accuracy", "regression": "r2"}


@pytest.mark.parametrize(
    ("metric", "pattern"),
    [
        ("auroc", r"^metric: unknown metric 'auroc'; choose one of: .*roc_auc"),
        (
            {"classification": "rmse"},
            r"^metric\.classification: 'rmse' is not a classification metric",
        ),
        ({"regression": "roc_auc"}, r"^metric\.regression: 'roc_auc' is not a regression metric"),
        ({"regression": "nope"}, r"^metric\.regression: unknown metric 'nope'"),
        (
            {"classifcation": "roc_auc"},
            r"^metric\.classifcation: unknown field 'classifcation' \(did you mean 'classification'\?\)",
        ),
        ({"classification": 5}, r"^metric\.classification: must be a non-empty string"),
        (["roc_auc"], r"^metric: write a metric name"),
    ],
)
def test_metric_errors(metric, pattern):
    with pytest.raises(InputError, match=pattern) as err:
        parse_suite(_suite(metric=metric))
    _one_line(err)


# ---------------------------------------------------------------------------------------------
# candidate variants and search spaces
# ---------------------------------------------------------------------------------------------


def test_candidate_variant_with_fixed_params_drops_them_from_the_space():
    s = parse_suite(
        _suite(
            candidates=[{"name": "rf_shallow", "base": "random_forest", "params": {"max_depth": 4}}]
        )
    )
    c = s.candidates[0]
    assert (c.name, c.base) == ("rf_shallow", "random_forest")
    assert c.fixed == {"max_depth": 4}
    for group in ("classification", "regression"):
        assert "max_depth" not in c.spaces[group]
        assert "max_features" in c.spaces[group]
    # the registered spec is untouched
    assert "max_depth" in get_spec("random_forest").spaces["classification"]


def test_space_partial_spec_narrows_the_range():
    s = parse_suite(
        _suite(candidates=[{"name": "hist_gb", "space": {"learning_rate": {"high": 0.1}}}])
    )
    original = get_spec("hist_gb").spaces["classification"]["learning_rate"]
    for group in ("classification", "regression"):
        lr = s.candidates[0].spaces[group]["learning_rate"]
        assert lr["high"] == pytest.approx(0.1)
        assert lr["low"] == original["low"]
        assert lr["log"] == original["log"]
    assert get_spec("hist_gb").spaces["classification"]["learning_rate"]["high"] == original["high"]


def test_space_narrowing_a_param_of_one_kind_only():
    s = parse_suite(
        _suite(candidates=[{"name": "linear", "space": {"C": {"low": 0.1, "high": 10.0}}}])
    )
    spaces = s.candidates[0].spaces
    assert spaces["classification"]["C"]["low"] == pytest.approx(0.1)
    assert spaces["regression"] == get_spec("linear").spaces["regression"]


def test_space_plain_value_fixes_the_param():
    s = parse_suite(_suite(candidates=[{"name": "hist_gb", "space": {"learning_rate": 0.05}}]))
    c = s.candidates[0]
    assert c.fixed == {"learning_rate": 0.05}
    assert all("learning_rate" not in sp for sp in c.spaces.values())


def test_space_full_spec_adds_a_param():
    spec = {"type": "int", "low": 2, "high": 4}
    s = parse_suite(_suite(candidates=[{"name": "knn", "space": {"leaf_size": spec}}]))
    assert s.candidates[0].spaces["classification"]["leaf_size"] == {
        "type": "int",
        "low": 2,
        "high": 4,
        "log": False,
    }


def test_space_categorical_subset():
    s = parse_suite(
        _suite(candidates=[{"name": "random_forest", "space": {"max_depth": {"choices": [4, 8]}}}])
    )
    assert s.candidates[0].spaces["classification"]["max_depth"]["choices"] == [4, 8]


@pytest.mark.parametrize(
    ("candidates", "pattern"),
    [
        (
            [{"name": "linear", "space": {"C": {"low": 1e-9}}}],
            r"^candidates\[0\]\.space\.C: .*outside the original range",
        ),
        (
            [{"name": "hist_gb", "space": {"learning_rate": {"high": 0.9}}}],
            r"^candidates\[0\]\.space\.learning_rate: .*outside the original range",
        ),
        (
            ["dummy", {"name": "random_forest", "space": {"max_depth": {"choices": [3]}}}],
            r"^candidates\[1\]\.space\.max_depth: choices \[3\] are not in the original space",
        ),
        (
            [{"name": "linear", "space": {"C": {"low": 10.0, "high": 1.0}}}],
            r"^candidates\[0\]\.space\.C: low \(10\.0\) is above high",
        ),
        (
            [{"name": "linear", "space": {"gamma": {"high": 1.0}}}],
            r"^candidates\[0\]\.space\.gamma: no tunable parameter 'gamma' in linear",
        ),
        (
            [
                {
                    "name": "linear",
                    "space": {"C": {"type": "float", "low": 0, "high": 1, "log": True}},
                }
            ],
            r"^candidates\[0\]\.space\.C: a log-scale range needs low > 0",
        ),
        ([{"name": "linear", "space": [1, 2]}], r"^candidates\[0\]\.space: 'space' is a mapping"),
        ([{"name": "linear", "params": [1]}], r"^candidates\[0\]\.params: 'params' is a mapping"),
        (
            ["dummy", "random_forrest"],
            r"^candidates\[1\]\.name: unknown candidate 'random_forrest' \(did you mean random_forest",
        ),
        (
            [{"name": "rf2", "base": "randomforest"}],
            r"^candidates\[0\]\.base: unknown candidate 'randomforest'",
        ),
        (
            [{"name": "rf_shallow", "params": {"max_depth": 4}}],
            r"^candidates\[0\]\.name: unknown candidate 'rf_shallow'",
        ),
        ([{"base": "random_forest"}], r"^candidates\[0\]\.name: must be a non-empty string"),
        (
            [{"name": "linear", "spaces": {}}],
            r"^candidates\[0\]\.spaces: unknown field 'spaces' \(did you mean 'space'\?\)",
        ),
        (["linear", "linear"], r"^candidates\[1\]: duplicate candidate 'linear'"),
        ([], r"^candidates: give a non-empty list of candidates"),
        ("linear", r"^candidates: give a non-empty list of candidates"),
        ([3], r"^candidates\[0\]: a candidate is a name or a mapping"),
    ],
)
def test_candidate_errors(candidates, pattern):
    with pytest.raises(InputError, match=pattern) as err:
        parse_suite(_suite(candidates=candidates))
    _one_line(err)


# ---------------------------------------------------------------------------------------------
# field errors name the field path
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        ({"trials": 0}, r"^trials: must be ≥ 1 \(got 0\)"),
        ({"trials": -3}, r"^trials: must be ≥ 1 \(got -3\)"),
        ({"trials": "many"}, r"^trials: must be a whole number \(got 'many'\)"),
        ({"trials": 2.5}, r"^trials: must be a whole number"),
        ({"trials": True}, r"^trials: must be a whole number"),
        ({"trials": 10**10}, r"^trials: must be ≤ 100000"),
        ({"folds": 1}, r"^folds: must be ≥ 2"),
        ({"repeats": 0}, r"^repeats: must be ≥ 1"),
        ({"seed": -1}, r"^seed: must be ≥ 0"),
        ({"seed": 2**32}, r"^seed: must be ≤ "),
        ({"seconds": 0}, r"^seconds: must be positive"),
        ({"seconds": -1.5}, r"^seconds: must be positive"),
        ({"seconds": float("inf")}, r"^seconds: must be a finite number"),
        ({"seconds": 1e12}, r"^seconds: .*give a realistic limit"),
        ({"timeout": 0}, r"^timeout: must be positive"),
        ({"sampler": "grid"}, r"^sampler: must be one of tpe, random"),
        ({"max_rows": 5}, r"^max_rows: must be ≥ 10"),
        ({"trails": 5}, r"^trails: unknown field 'trails' \(did you mean 'trials'\?\)"),
        ({"name": ""}, r"^name: must be a non-empty string"),
        ({"tasks": []}, r"^tasks: give a non-empty list of tasks"),
        ({"tasks": {"dataset": "iris"}}, r"^tasks: give a non-empty list of tasks"),
        (
            {"tasks": ["iris", {"path": "x.csv"}]},
            r"^tasks\[1\]\.target: a file task needs 'target'",
        ),
        (
            {"tasks": ["iris", "irsi"]},
            r"^tasks\[1\]\.dataset: unknown dataset 'irsi' \(did you mean iris",
        ),
        ({"tasks": ["iris", "iris"]}, r"^tasks\[1\]\.name: duplicate task name 'iris'"),
        (
            {"tasks": [{"dataset": "iris", "path": "x.csv", "target": "y"}]},
            r"^tasks\[0\]: give exactly one of 'dataset', 'path' or 'openml'",
        ),
        ({"tasks": [{"name": "t"}]}, r"^tasks\[0\]: give exactly one of"),
        (
            {"tasks": [{"dataset": "iris", "traget": "y"}]},
            r"^tasks\[0\]\.traget: unknown field 'traget' \(did you mean 'target'\?\)",
        ),
        (
            {"tasks": [{"path": "x.csv", "target": "y", "kind": "ordinal"}]},
            r"^tasks\[0\]\.kind: must be one of binary",
        ),
        (
            {"tasks": [{"path": "x.csv", "target": "y", "drop": [1]}]},
            r"^tasks\[0\]\.drop: 'drop' is a list of column names",
        ),
        (
            {"tasks": [{"path": "x.csv", "target": ""}]},
            r"^tasks\[0\]\.target: must be a non-empty string",
        ),
        ({"tasks": [{"openml": 0}]}, r"^tasks\[0\]\.openml: must be ≥ 1"),
        ({"tasks": [{"dataset": "iris", "max_rows": 3}]}, r"^tasks\[0\]\.max_rows: must be ≥ 10"),
        ({"tasks": [42]}, r"^tasks\[0\]: a task is a mapping"),
    ],
)
def test_field_errors(fields, pattern):
    with pytest.raises(InputError, match=pattern) as err:
        parse_suite(_suite(**fields))
    _one_line(err)


@pytest.mark.parametrize("raw", [None, [], ["iris"], "tasks: iris"])
def test_suite_must_be_a_mapping(raw):
    with pytest.raises(InputError, match="a suite must be a YAML mapping"):
        parse_suite(raw)


@pytest.mark.parametrize("missing", ["tasks", "candidates"])
def test_missing_required_field(missing):
    raw = _suite()
    del raw[missing]
    with pytest.raises(InputError, match=rf"^{missing}: missing required field '{missing}'"):
        parse_suite(raw)


# ---------------------------------------------------------------------------------------------
# load_suite: the file is named in every message
# ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_load_suite_reads_file_and_defaults_name_to_stem(tmp_path):
    p = _write(tmp_path, "tasks: [iris]\ncandidates: [dummy]\ntrials: 2\n", "my_suite.yaml")
    s = load_suite(p)
    assert s.name == "my_suite"
    assert s.trials == 2
    assert s.source == str(p)
    assert Path(s.base_dir) == tmp_path.resolve()


def test_load_suite_bundled_quick_suite():
    s = load_suite(REPO_ROOT / "suites" / "quick.yaml")
    assert s.name == "quick"
    assert len(s.tasks) >= 1 and len(s.candidates) >= 1


def test_load_suite_error_names_file_and_field(tmp_path):
    p = _write(tmp_path, "tasks: [iris, {path: d.csv}]\ncandidates: [dummy]\n")
    with pytest.raises(InputError) as err:
        load_suite(p)
    assert _one_line(err).startswith(f"{p}: tasks[1].target: ")


def test_load_suite_error_without_field_still_names_file(tmp_path):
    p = _write(tmp_path, "- iris\n- wine\n")
    with pytest.raises(InputError, match=rf"^{re.escape(str(p))}: a suite must be a YAML mapping"):
        load_suite(p)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("tasks: [iris\ncandidates: [dummy]\n", r"not valid YAML at line \d+, column \d+"),
        (
            "tasks: [iris]\ncandidates: [dummy]\ntrials: 2\ntrials: 50\n",
            r"not valid YAML at line 4, column 1: duplicate key 'trials' \(also on line 3\)",
        ),
        (
            "tasks: [{dataset: iris, dataset: wine}]\ncandidates: [dummy]\n",
            r"not valid YAML at line 1, column \d+: duplicate key 'dataset'",
        ),
        (
            "seed: 2024-13-45\ntasks: [iris]\ncandidates: [dummy]\n",
            r"not valid YAML: month must be in 1\.\.12",
        ),
        (
            "seed: !!python/object/apply:os.system [echo]\ntasks: [iris]\ncandidates: [dummy]\n",
            r"YAML tag '!!python/object/apply:os\.system' at line 1, column 7 is not allowed: .*safe loader.*remove the tag",
        ),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", r"not valid YAML"),
    ],
    ids=[
        "syntax",
        "duplicate-top-key",
        "duplicate-task-key",
        "bad-date",
        "python-tag",
        "deep-nesting",
    ],
)
def test_load_suite_bad_yaml(tmp_path, text, pattern):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=rf"^{re.escape(str(p))}: {pattern}") as err:
        load_suite(p)
    _one_line(err)


def test_load_suite_yaml_merge_keys_are_not_duplicates(tmp_path):
    text = "base: &b {name: x}\ntasks: [iris]\ncandidates:\n  - <<: *b\n    name: dummy\n"
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=r"unknown field 'base'"):
        load_suite(p)  # parsed fine (no duplicate-key complaint); 'base' is just not a suite field


def test_load_suite_not_utf8(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_bytes(b"tasks: [iris]\ncandidates: [dummy]\nname: \xff\xfe\n")
    with pytest.raises(InputError, match=r"not a UTF-8 text file"):
        load_suite(p)


def test_load_suite_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"suite file not found: .*nope\.yaml"):
        load_suite(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match=r"suite file not found"):
        load_suite(tmp_path)  # a folder is not a suite file


# ---------------------------------------------------------------------------------------------
# hashing and overrides
# ---------------------------------------------------------------------------------------------


def test_hash_is_stable_and_changes_with_the_budget():
    a = parse_suite(_suite(trials=5))
    assert a.hash() == parse_suite(_suite(trials=5)).hash()
    assert len(a.hash()) == 64
    assert a.hash() != parse_suite(_suite(trials=6)).hash()
    assert a.hash() != parse_suite(_suite(trials=5, seconds=10)).hash()
    assert a.hash() != parse_suite(_suite(trials=5, seed=1)).hash()
    assert a.hash() != parse_suite(_suite(trials=5, metric="accuracy")).hash()
    assert (
        a.hash()
        != parse_suite(
            _suite(trials=5, candidates=[{"name": "dummy", "space": {"strategy": "prior"}}])
        ).hash()
    )


def test_hash_ignores_the_file_path_comments_and_description(tmp_path):
    text = "name: same\ntasks: [iris]\ncandidates: [dummy]\ntrials: 3\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pa = _write(tmp_path / "a", text, "suite.yaml")
    pb = _write(
        tmp_path / "b", "# a comment\n" + text + "description: other words\n", "renamed.yaml"
    )
    sa, sb = load_suite(pa), load_suite(pb)
    assert sa.source != sb.source and sa.base_dir != sb.base_dir
    assert sa.hash() == sb.hash()
    assert sa.hash() == parse_suite(_suite(name="same", trials=3)).hash()


def test_to_dict_is_json_ready_and_has_no_location():
    d = parse_suite(
        _suite(candidates=[{"name": "rf", "base": "random_forest", "params": {"max_depth": 4}}])
    ).to_dict()
    assert "source" not in d and "base_dir" not in d
    assert d["candidates"][0]["fixed"] == {"max_depth": 4}
    assert d["metric"] == {"classification": "roc_auc", "regression": "rmse"}


def test_with_overrides():
    s = parse_suite(_suite(trials=5, seed=1))
    t = s.with_overrides(seed=9, trials=None)
    assert (t.seed, t.trials) == (9, 5)
    assert (s.seed, s.trials) == (1, 5)  # frozen original unchanged
    assert s.with_overrides() == s
    assert s.with_overrides(trials=7).hash() != s.hash()
    assert s.with_overrides(seconds=10).seconds == 10.0


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"trials": 0}, r"^trials: must be ≥ 1"),
        ({"trials": 10**10}, r"^trials: must be ≤ 100000"),
        ({"seed": -1}, r"^seed: must be ≥ 0"),
        ({"folds": 1}, r"^folds: must be ≥ 2"),
        ({"seconds": 0}, r"^seconds: must be positive"),
        ({"sampler": "grid"}, r"^sampler: must be one of"),
    ],
)
def test_with_overrides_validates_like_the_suite(changes, pattern):
    with pytest.raises(InputError, match=pattern):
        parse_suite(_suite()).with_overrides(**changes)
