"""Candidate plugins (``BENCHMARK_PLUGINS``): the test double ``fault`` is one, never loaded by default."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.candidates import PLUGINS_ENV, get_spec, registry
from benchmark.candidates.catalog import _plugin_specs
from benchmark.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose environment lacks BENCHMARK_PLUGINS, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if k != PLUGINS_ENV}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**clean, **env})


def _listed_names(text: str) -> set[str]:
    """Candidate names printed by ``bench list candidates`` (first word of each name line)."""
    return {line.split()[0] for line in text.splitlines() if line[:1].strip()}


def _fault_is_registered() -> bool:
    """Run in a spawned worker: does its registry know ``fault``?"""
    return "fault" in registry()


def test_without_the_variable_fault_is_unknown_and_the_test_double_never_imported():
    code = """
import contextlib, io, json, sys
from benchmark.candidates import get_spec, registry
from benchmark.errors import InputError
names = set(registry())
try:
    get_spec("fault")
    unknown = ""
except InputError as err:
    unknown = str(err)
after_registry = "benchmark.testing" in sys.modules
from benchmark.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["list", "candidates"])
print(json.dumps({"fault": "fault" in names, "linear": "linear" in names, "unknown": unknown,
                  "after_registry": after_registry, "after_list": "benchmark.testing" in sys.modules,
                  "list_code": code, "listed": out.getvalue()}))
"""
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["linear"] and not got["fault"]
    assert got["unknown"].startswith("unknown candidate 'fault'")
    assert not got["after_registry"], "loading the registry imported benchmark.testing"
    assert got["list_code"] == 0 and {"linear", "dummy"} <= _listed_names(got["listed"])
    assert "fault" not in _listed_names(got["listed"])
    assert not got["after_list"], "`bench list candidates` imported benchmark.testing"


def test_with_the_variable_fault_is_registered_in_the_driver_and_a_spawned_worker():
    assert os.environ[PLUGINS_ENV] == "benchmark.testing"  # tests/conftest.py
    assert get_spec("fault").family == "test double"
    with mp.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_fault_is_registered)


def test_fault_stays_hidden_from_bench_list_candidates(capsys):
    from benchmark.cli import main

    assert main(["list", "candidates"]) == 0
    listed = capsys.readouterr().out
    assert "linear" in _listed_names(listed) and "fault" not in _listed_names(listed)


def test_a_bad_plugin_name_is_one_clear_line():
    proc = _python("from benchmark.cli import main; raise SystemExit(main(['list', 'candidates']))",
                   BENCHMARK_PLUGINS="benchmark.testing, no_such_plugin_module")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "BENCHMARK_PLUGINS" in lines[0] and "'no_such_plugin_module'" in lines[0]
    assert proc.stdout == ""


def test_a_plugin_module_must_list_candidate_specs():
    with pytest.raises(InputError, match=r"BENCHMARK_PLUGINS: cannot import plugin module 'no_such_plugin_module'"):
        _plugin_specs("no_such_plugin_module")
    with pytest.raises(InputError, match=r"plugin module 'json' has no SPECS"):
        _plugin_specs("json")
    assert [spec.name for spec in _plugin_specs("benchmark.testing")] == ["fault"]
