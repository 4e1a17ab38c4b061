"""The shape of the package (docs/architecture.md): layers, no cycles, one owner per fact.

The layer contract lives in pyproject.toml ([tool.importlinter]) and is checked here with the real
import-linter, so `make test` fails when a lower layer imports a higher one. A second test plants
an upward import in a copy of the package and checks that the contract catches it.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "benchmark"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_layer_contracts_hold():
    res = _lint_imports(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    """metrics (bottom layer) importing report (a top layer) must be refused, naming the import."""
    shutil.copytree(PACKAGE, tmp_path / "benchmark", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    metrics = tmp_path / "benchmark" / "metrics.py"
    metrics.write_text(metrics.read_text() + "\n\ndef _upward():\n    from benchmark.report import analysis  # noqa: F401\n")
    res = _lint_imports(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "benchmark.metrics is not allowed to import benchmark.report" in res.stdout


def _strongly_connected(adj: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every group of two or more modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(sorted(adj[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(adj[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))
    return out


def test_strongly_connected_finds_a_planted_cycle():
    adj = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _strongly_connected(adj) == [["a", "b", "c"]]


def test_no_import_cycles_between_modules():
    """Also between a package's __init__ and its children, and through imports inside functions."""
    graph = grimp.build_graph("benchmark", exclude_type_checking_imports=True)
    modules = set(graph.modules)
    adj = {m: set(graph.find_modules_directly_imported_by(m)) & modules for m in modules}
    assert _strongly_connected(adj) == []


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    """About 600 lines at most; stats.py is one topic and is allowed to be longer."""
    if path == PACKAGE / "stats.py":
        return
    n = len(path.read_text().splitlines())
    assert n <= 620, f"{path.relative_to(ROOT)} has {n} lines"


def test_metric_facts_have_one_owner():
    """No module but metrics.py spells out a set of metric names (directions, bounds, defaults)."""
    from benchmark.metrics import METRICS

    names = set(METRICS)
    offenders = []
    for path in _modules():
        if path == PACKAGE / "metrics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Set, ast.List, ast.Tuple, ast.Dict)):
                items = node.keys + node.values if isinstance(node, ast.Dict) else node.elts
                found = {n.value for n in items if isinstance(n, ast.Constant) and n.value in names}
                if len(found) >= 2:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(found)}")
    assert offenders == []
