"""Whether two snapshots can be compared: :func:`check_comparable` → ``(blocking, context)``.

Blocking differences make a comparison meaningless (the protocol, and per task the data, split
and fold hashes, tuning metric and kind); :func:`require_comparable` raises them as
:class:`~benchmark.errors.IncompatibleRunError` (exit code 2).  Everything else that changed
(budgets, sampler, model seed, candidate parameters, library versions, machine) is returned as
context to report.  :func:`machine_class` says whether times are comparable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.ci.snapshot import Snapshot, finite_float
from benchmark.errors import IncompatibleRunError

# Suite fields whose change makes fold scores incomparable (the splits, or what a fold means).
# Every other suite setting (trials, seconds, sampler, timeout, model_seed, max_rows, metric, …)
# may change (budgets are what CI detects); the change is reported as context.
PROTOCOL_KEYS = ("folds", "repeats", "inner", "seed")


def machine_class(meta: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What makes times comparable: OS, processor, core count, memory (GiB); not the host name."""
    m = meta.get("machine") or {}
    if not m:
        return None
    system = str(m.get("platform") or "").split("-")[0]
    mem = finite_float(m.get("memory_gib"))
    return (system, m.get("processor"), m.get("cpu_count"), None if mem is None else round(mem))


def _short(x: Any, n: int = 12) -> str:
    return "none" if x is None else str(x)[:n]


def _js(x: Any) -> str:
    text = json.dumps(x, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def check_comparable(baseline: Snapshot, current: Snapshot) -> tuple[list[str], list[str]]:
    """``(blocking, context)``: differences that forbid a comparison, and those merely reported.

    Blocking: the protocol (folds, repeats, inner, seed), and per task in both runs the data hash,
    split hash, tuning metric, kind, and each outer fold's hash; no task in common.
    Context: budget and sampler settings, model seed, candidate parameters, library versions,
    machine class, commits.
    """
    blocking: list[str] = []
    context: list[str] = []
    bp, cp = baseline.meta.get("protocol") or {}, current.meta.get("protocol") or {}
    for key in PROTOCOL_KEYS:
        if bp.get(key) != cp.get(key):
            blocking.append(f"suite.{key} {_js(bp.get(key))} → {_js(cp.get(key))}")
    common = [t for t in baseline.tasks if t in current.tasks]
    if not common:
        blocking.append(f"no task in common (baseline: {', '.join(baseline.tasks) or 'none'}; run: {', '.join(current.tasks) or 'none'})")
    for t in common:
        a, b = baseline.tasks[t], current.tasks[t]
        for key, label in (("data_hash", "data hash"), ("split_hash", "split hash"), ("metric", "tuning metric"), ("kind", "kind")):
            if a.get(key) != b.get(key):
                blocking.append(f"task '{t}': {label} {_short(a.get(key))} → {_short(b.get(key))}")
    blocking.extend(_fold_hash_diffs(baseline, current, common))
    for key in sorted((set(bp) | set(cp)) - set(PROTOCOL_KEYS)):
        if bp.get(key) != cp.get(key):
            context.append(f"suite.{key} {_js(bp.get(key))} → {_js(cp.get(key))}")
    context.extend(_candidate_diffs(baseline.meta.get("candidates") or {}, current.meta.get("candidates") or {}))
    bv, cv = baseline.meta.get("versions") or {}, current.meta.get("versions") or {}
    changed = [f"{lib} {bv.get(lib)} → {cv.get(lib)}" for lib in sorted(set(bv) | set(cv)) if bv.get(lib) != cv.get(lib)]
    if changed:
        context.append("library versions changed: " + ", ".join(changed))
    if machine_class(baseline.meta) != machine_class(current.meta):
        context.append(f"machine differs: {_machine_text(baseline.meta)} → {_machine_text(current.meta)}")
    return blocking, context


def _machine_text(meta: Mapping[str, Any]) -> str:
    mc = machine_class(meta)
    if mc is None:
        return "unknown"
    system, proc, cpus, mem = mc
    return f"{system} {proc}, {cpus} cores, {mem} GiB"


def _fold_hash_diffs(baseline: Snapshot, current: Snapshot, tasks: Sequence[str]) -> list[str]:
    def hashes(snap: Snapshot) -> dict[tuple[str, int], str]:
        return {(r["task"], int(r["fold"])): r.get("fold_hash") for r in snap.rows if r.get("fold_hash")}

    a, b = hashes(baseline), hashes(current)
    out = []
    for t in tasks:
        bad = sorted(f for (tt, f) in a if tt == t and (t, f) in b and a[(t, f)] != b[(t, f)])
        if bad:
            out.append(f"task '{t}': fold hash differs on outer fold(s) {', '.join(map(str, bad))}")
    return out


def _candidate_diffs(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    out = []
    for name in [n for n in a if n in b]:
        ca, cb = a[name] or {}, b[name] or {}
        for key in ("base", "fixed", "space_hash"):
            if ca.get(key) != cb.get(key):
                what = "search space" if key == "space_hash" else "fixed params" if key == "fixed" else key
                detail = "" if key == "space_hash" else f" {_js(ca.get(key))} → {_js(cb.get(key))}"
                out.append(f"candidate '{name}': {what} changed{detail}")
    return out


def require_comparable(baseline: Snapshot, current: Snapshot) -> list[str]:
    """Raise :class:`IncompatibleRunError` listing every blocking difference; return the context."""
    blocking, context = check_comparable(baseline, current)
    if blocking:
        raise IncompatibleRunError(
            f"{current.source} is not comparable with baseline {baseline.source}: " + "; ".join(blocking)
            + " (compare runs of the same data and splits, or make a new baseline with `bench baseline`)"
        )
    return context
