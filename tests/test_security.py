"""Security: names from data are shown as text in every output we write, never run; the package
never unpickles, evals or unsafely loads YAML from user input.

One tiny run whose task, candidate, feature columns, category levels and class labels carry HTML
is made through the command line, and every output is parsed with an HTML (or XML) parser: no
element, attribute or script may come from the data, and the names must still be shown (as
escaped text).
"""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cli

PACKAGE = Path(__file__).resolve().parents[1] / "benchmark"
SCRIPT = "<script>alert(1)</script>"
IMG = "\"'><img src=x onerror=alert(1)>"


class _Page(HTMLParser):
    """Collects start tags with their attributes, script bodies and the text shown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def _check_html(page_text: str, *, shown: tuple[str, ...]) -> _Page:
    page = _Page()
    page.feed(page_text)
    page.close()
    assert not [t for t, a in page.tags if t == "img"], "an <img> element came from the data"
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not (name.startswith("on") and "alert(1)" in (value or "")), (tag, name, value)
            assert name != "onerror", (tag, attrs)
    assert not any("alert(1)" in s for s in page.scripts), "data text ended up inside a <script>"
    text = "".join(page.text)
    for s in shown:
        assert s in text, f"{s!r} is not shown as text"
    return page


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory) -> Path:
    """``bench run`` of a CSV whose task, candidate, column, category and class names are HTML."""
    root = tmp_path_factory.mktemp("evil")
    rng = np.random.default_rng(0)
    n = 40
    x = rng.normal(size=n)
    frame = pd.DataFrame({
        SCRIPT: x.round(5),
        "colour": np.where(rng.random(n) < 0.5, IMG, SCRIPT),
        "label": np.where(x > 0, SCRIPT, IMG),
    })
    frame.to_csv(root / "data.csv", index=False)
    suite = {
        "name": "evil",
        "folds": 2, "inner": 2, "trials": 1, "learning_curve": [0.5, 1.0], "budget_curve": False,
        "tasks": [{"name": SCRIPT, "path": "data.csv", "target": "label"}],
        "candidates": ["dummy", {"name": IMG, "base": "linear"}],
    }
    (root / "suite.yaml").write_text(json.dumps(suite), encoding="utf-8")  # JSON is YAML
    assert cli.main(["run", str(root / "suite.yaml"), "--out", str(root / "run"), "--jobs", "1", "--no-progress"]) == 0
    return root


def test_run_report_escapes_names(evil_run):
    _check_html((evil_run / "run" / "report.html").read_text(encoding="utf-8"), shown=(SCRIPT, IMG))


def test_rebuilt_report_escapes_names(evil_run, tmp_path):
    assert cli.main(["report", str(evil_run / "run"), "--out", str(tmp_path / "again.html")]) == 0
    _check_html((tmp_path / "again.html").read_text(encoding="utf-8"), shown=(SCRIPT, IMG))


def test_regress_markdown_and_junit_escape_names(evil_run, tmp_path):
    base = tmp_path / "base.json"
    assert cli.main(["baseline", str(evil_run / "run"), "--out", str(base)]) == 0
    md, junit = tmp_path / "r.md", tmp_path / "r.xml"
    assert cli.main(["regress", str(base), str(evil_run / "run"), "--markdown", str(md), "--junit", str(junit), "-q"]) == 0
    text = md.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<img" not in text.lower()  # GitHub renders raw HTML in Markdown
    _check_html(text, shown=())  # and as HTML it creates no element from the data
    xml = ET.parse(junit).getroot()  # well-formed: names did not break the XML
    names = " ".join(str(el.attrib) for el in xml.iter())
    assert SCRIPT in names or IMG in names  # the names survive as attribute values


def test_history_page_escapes_names(evil_run, tmp_path):
    hist = tmp_path / "history.jsonl"
    assert cli.main(["history", "append", str(evil_run / "run"), "--file", str(hist), "--label", SCRIPT]) == 0
    assert cli.main(["history", "append", str(evil_run / "run"), "--file", str(hist), "--label", IMG]) == 0
    page = tmp_path / "history.html"
    assert cli.main(["history", "show", str(hist), "--out", str(page)]) == 0
    _check_html(page.read_text(encoding="utf-8"), shown=(SCRIPT, IMG))


def test_compare_write_report_escapes_names(tmp_path):
    from benchmark import compare

    rng = np.random.default_rng(1)
    X = pd.DataFrame({IMG: rng.normal(size=40), "c": pd.Categorical(np.where(rng.random(40) < 0.5, SCRIPT, "b"))})
    y = np.where(X[IMG] > 0, IMG, SCRIPT)
    res = compare(X, y, candidates=["dummy", {"name": SCRIPT, "base": "linear"}], trials=1, folds=2, inner=2, name=IMG,
                  learning_curve=False, budget_curve=False, out=tmp_path / "run")
    path = tmp_path / "cmp.html"
    res.write_report(path)
    _check_html(path.read_text(encoding="utf-8"), shown=(SCRIPT, IMG))


# ---------------------------------------------------------------------------------------------
# the source never unpickles, evals or unsafely loads YAML
# ---------------------------------------------------------------------------------------------

#: (module or object name, attribute) calls that run code from data.
FORBIDDEN_CALLS = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
    ("joblib", "load"), ("dill", "load"), ("dill", "loads"), ("shelve", "open"), ("marshal", "loads"),
    ("pd", "read_pickle"), ("pandas", "read_pickle"), ("torch", "load"),
    ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"), ("yaml", "unsafe_load_all"),
}
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "_SuiteLoader"}
#: The one unpickling call allowed, and why: a user's own estimator (``Candidate``) travels from
#: the driver to its worker processes as cloudpickle bytes inside the job (as every job object
#: already does through multiprocessing or Dask); the bytes are never written to or read from a
#: file (test_user_estimator_bytes_never_reach_the_run_directory below).
ALLOWED_UNPICKLING = {("benchmark/candidates/custom.py", "load_estimator")}


def _calls():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield path.relative_to(PACKAGE.parent), node


def _dotted(func: ast.expr) -> tuple[str, str] | None:
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    if isinstance(func, ast.Name):
        return "", func.id
    return None


def test_the_scan_sees_the_package():
    found = {(_dotted(n.func) or ("", ""))[1] for _, n in _calls()}
    assert {"load", "read_csv", "read_parquet"} <= found  # yaml.load, pd.read_csv, … are really seen


def _enclosing_functions() -> dict[tuple[str, int], str]:
    """(file, line of a call) -> the name of the function defining it."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Call):
                        out.setdefault((str(path.relative_to(PACKAGE.parent)), node.lineno), fn.name)
    return out


def test_no_unpickling_eval_or_exec_anywhere_in_the_package():
    bad = []
    where = _enclosing_functions()
    for path, node in _calls():
        name = _dotted(node.func)
        if name is None:
            continue
        if (str(path), where.get((str(path), node.lineno))) in ALLOWED_UNPICKLING and name in {("pickle", "loads"), ("cloudpickle", "loads")}:
            continue
        if name in FORBIDDEN_CALLS or name[1] in ("read_pickle",) or (name[0] == "" and name[1] in ("eval", "exec", "__import__")):
            bad.append(f"{path}:{node.lineno}: {'.'.join(filter(None, name))}(")
        if name[1] == "load" and name[0] in ("np", "numpy"):
            allow = next((k.value for k in node.keywords if k.arg == "allow_pickle"), None)
            if not (isinstance(allow, ast.Constant) and allow.value is False):
                bad.append(f"{path}:{node.lineno}: np.load without allow_pickle=False")
    assert not bad, bad


def test_yaml_is_only_loaded_with_a_safe_loader():
    loads = [(p, n) for p, n in _calls() if _dotted(n.func) == ("yaml", "load")]
    assert loads, "the suite loader calls yaml.load(..., Loader=_SuiteLoader)"
    for path, node in loads:
        loader = next((k.value for k in node.keywords if k.arg == "Loader"), node.args[1] if len(node.args) > 1 else None)
        name = loader.attr if isinstance(loader, ast.Attribute) else getattr(loader, "id", None)
        assert name in SAFE_LOADERS, f"{path}:{node.lineno}: yaml.load with Loader={name}"
    import yaml

    from benchmark.config import _SuiteLoader

    assert issubclass(_SuiteLoader, yaml.SafeLoader)


def test_user_data_paths_never_reach_a_pickle_reader(tmp_path, monkeypatch):
    """Whatever a data path is called, loading it never calls pandas' or pickle's unpicklers."""
    import pickle

    from benchmark.data.loaders import load_file
    from benchmark.errors import InputError

    def boom(*args, **kwargs):
        raise AssertionError("a pickle reader was reached")

    monkeypatch.setattr(pd, "read_pickle", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    payload = pickle.dumps(pd.DataFrame({"a": [1, 2], "label": [0, 1]}))
    for name in ("d.pkl", "d.pickle", "d.joblib", "d.p", "d", "d.csv", "d.parquet", "d.csv.gz"):
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(InputError):
            load_file(tmp_path / name, target="label")


def test_user_estimator_bytes_never_reach_the_run_directory(tmp_path):
    """The allowed unpickling reads job bytes only: a run with a user estimator stores no pickle."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    from benchmark import Candidate, compare
    from benchmark.candidates.custom import dump_estimator

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[:120, :5], y.iloc[:120]
    compare(X, y, candidates=[Candidate("mine", LogisticRegression(max_iter=200))], trials=1, folds=2, inner=2,
            out=tmp_path / "run", learning_curve=False, budget_curve=False)
    blob = dump_estimator(LogisticRegression(max_iter=200))
    for f in (tmp_path / "run").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert blob[:64] not in data and b"cloudpickle" not in data, f
