"""CI regression tracking: compare a run against a baseline and decide whether anything got worse.

The pieces, each pure except the two readers/writers at the top:

* :class:`Snapshot` — what a comparison needs from a run: per task × candidate × outer fold the
  state, test scores, times and fold hash, plus the provenance that proves two runs
  are comparable (data, split and fold hashes, tuning metric, folds/repeats/inner/seed) and the
  context that is reported but never refused (library versions, machine, git commit, budgets).
  :func:`snapshot_from_run` reads a run directory; :func:`read_baseline`/:func:`write_baseline`
  read/write the compact JSON baseline file (``{"format": "bench-baseline", "version": 1, ...}``).
* :func:`check_comparable` → ``(blocking, context)``: the differences that make a comparison
  meaningless (raised as :class:`~benchmark.errors.IncompatibleRunError`, exit code 2) and those
  that are reported as context.
* :func:`compare` → frozen :class:`RegressionResult` with ``exit_code`` (0 no regression,
  1 regression) and the renderers ``to_text()``, ``to_markdown()``, ``to_junit_xml()``,
  ``to_dict()``.

The decision rule (per task × candidate, on the folds that are ``ok`` in both runs, paired by
fold index and fold hash):

* **score regression**: the mean change is a drop larger than the tolerance *and* the drop is
  significant: one-sided Nadeau–Bengio corrected resampled t-test on the paired fold scores
  (``p_worse`` = P(T ≤ t) for t = mean(current − baseline)/SE, oriented so that positive is
  better — half the two-sided p-value in the direction of the drop), Holm-adjusted over every
  score comparison of the report, below ``alpha``.  Improvements use the mirror-image test and
  their own Holm family.
* **time regression**: the median of ``time_field`` over the ok folds grew by more than
  ``time_ratio`` × *and* by more than ``time_floor`` seconds (so tiny jobs jittering from 5 ms to
  12 ms never flag).  The default field is ``cpu_seconds`` (the job's process CPU time: tuning,
  refit and scoring, without learning/budget-curve refits), which other load on the machine
  hardly changes; wall-clock ``fit_seconds`` doubled for every candidate on a busy 2-core machine
  (benchmarks/false_alarms.py).  The default ratio is 3 because other model seeds alone moved a
  tuned candidate's median CPU time by up to 2.6× (a different configuration wins the tuning).
  Times are only comparable on the same kind of machine: with ``times="auto"`` a slowdown fails
  the check when both runs ran on the same machine class (OS, processor, cores, memory; not the
  host name), and is only a warning otherwise.
* **new failures** (a fold ``ok`` in the baseline that failed or is missing now) and **candidates
  or tasks that disappeared** are regressions (``allow_missing=True`` makes disappearances
  warnings).  Candidates and tasks that are new have no baseline and are listed as such.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import IncompatibleRunError, InputError
from benchmark.metrics import greater_is_better, is_bounded
from benchmark.report.markup import fixed, p_text, seconds_text
from benchmark.serialize import jsonable, write_text_atomic

FORMAT = "bench-baseline"
FORMAT_VERSION = 1

DEFAULT_ALPHA = 0.05
DEFAULT_ABS_TOLERANCE = 0.01  # score units, for metrics bounded by 1 (AUC, accuracy, F1, R²)
DEFAULT_REL_TOLERANCE = 0.01  # 1 % of the baseline mean, for unbounded metrics (RMSE, MAE, log loss)
DEFAULT_TIME_RATIO = 3.0
DEFAULT_TIME_FLOOR = 0.05  # seconds
DEFAULT_TIME_FIELD = "cpu_seconds"
TIME_MODES = ("auto", "fail", "warn", "off")

# Suite fields whose change makes fold scores incomparable (the splits, or what a fold means).
PROTOCOL_KEYS = ("folds", "repeats", "inner", "seed")
# Every other suite setting (trials, seconds, sampler, timeout, model_seed, max_rows, metric, …)
# may change (budgets are what CI detects); the change is reported as context.
TIME_FIELDS = ("cpu_seconds", "fit_seconds", "tune_seconds", "total_seconds")
TIME_LABELS = {"cpu_seconds": "CPU s", "fit_seconds": "fit s", "tune_seconds": "tune s", "total_seconds": "wall s"}
_ROW_KEYS = ("task", "candidate", "fold", "repeat", "state", "error", "fold_hash", "n_train", "n_test", "fit_seconds",
             "predict_seconds", "tune_seconds", "total_seconds", "cpu_seconds")


# --------------------------------------------------------------------------------------------
# Snapshots: the data a comparison needs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A run reduced to what a regression check needs.

    ``meta``: suite_name, suite_hash, git_commit, created, versions, machine, protocol (the suite's
    settings: folds, repeats, inner, seed, model_seed, trials, seconds, sampler, metric, …),
    candidates ({name: {base, fixed, space_hash}}), candidate_order, run_dir (where the run was).  ``tasks``: {name: {data_hash, split_hash, kind,
    metric, n_rows}}.  ``rows``: one dict per task × candidate × outer fold with the keys
    task, candidate, fold, repeat, state, error, fold_hash, n_train, n_test, fit_seconds,
    predict_seconds, tune_seconds, total_seconds, cpu_seconds (the job's CPU time without
    learning/budget-curve refits) and ``scores`` ({metric: test score}).  ``source`` says where it came from.
    """

    source: str
    meta: Mapping[str, Any]
    tasks: Mapping[str, Mapping[str, Any]]
    rows: tuple[Mapping[str, Any], ...]

    @property
    def commit(self) -> str | None:
        return self.meta.get("git_commit")

    @property
    def created(self) -> str:
        return str(self.meta.get("created") or "")

    @property
    def suite_name(self) -> str:
        return str(self.meta.get("suite_name") or "")

    def candidates(self) -> list[str]:
        """Candidate names in run order."""
        order = list(self.meta.get("candidate_order") or [])
        seen = {r["candidate"] for r in self.rows}
        return [c for c in order if c in seen] + sorted(seen - set(order))

    def task_names(self) -> list[str]:
        return list(self.tasks)

    def cells(self) -> dict[tuple[str, str], dict[int, Mapping[str, Any]]]:
        """{(task, candidate): {fold: row}}."""
        out: dict[tuple[str, str], dict[int, Mapping[str, Any]]] = {}
        for r in self.rows:
            out.setdefault((r["task"], r["candidate"]), {})[int(r["fold"])] = r
        return out

    def to_dict(self) -> dict[str, Any]:
        """The baseline file's content (``format``, ``version``, ``meta``, ``tasks``, ``rows``)."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "meta": dict(self.meta),
                "tasks": {k: dict(v) for k, v in self.tasks.items()}, "rows": [dict(r) for r in self.rows]}

    def with_meta(self, **changes: Any) -> Snapshot:
        """A copy with some ``meta`` fields replaced (``None`` values are ignored)."""
        meta = dict(self.meta) | {k: v for k, v in changes.items() if v is not None}
        return Snapshot(self.source, meta, self.tasks, self.rows)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def snapshot_from_run(run_dir: str | Path) -> Snapshot:
    """Read a run directory (``manifest.json`` + ``records.jsonl``) into a :class:`Snapshot`."""
    from benchmark.results.store import Store, mixed_records
    from benchmark.results.table import ResultTable

    store = Store(run_dir)
    manifest = store.read_manifest()
    records = list(store.records())
    mixed = mixed_records(manifest, records)
    if mixed:
        raise IncompatibleRunError(f"{store.records_path}: records from different data or splits are mixed: " + "; ".join(mixed)
                                   + " (remove those lines or rerun into a new folder)")
    table = ResultTable.from_records(records, manifest)
    if table.df.empty:
        raise InputError(f"{run_dir}: no completed jobs in records.jsonl; run the suite first (bench run SUITE --out {run_dir})")
    score_cols = [c for c in table.df.columns if c.startswith("test_")]
    rows = []
    for rec in table.df.to_dict("records"):
        row: dict[str, Any] = {k: rec.get(k) for k in _ROW_KEYS}
        row["fold"] = int(row["fold"])
        row["repeat"] = int(_finite(row.get("repeat")) or 0)
        for k in ("n_train", "n_test"):
            row[k] = int(_finite(row[k]) or 0)
        curve_cpu = _finite(rec.get("curve_cpu_seconds")) or 0.0  # learning/budget-curve refits: reporting extras
        if (cpu := _finite(row["cpu_seconds"])) is not None:
            row["cpu_seconds"] = max(cpu - curve_cpu, 0.0)
        for k in ("fit_seconds", "predict_seconds", "tune_seconds", "total_seconds", "cpu_seconds"):
            v = _finite(row[k])
            row[k] = None if v is None else round(v, 5)
        row["error"] = row["error"] if isinstance(row["error"], str) else None
        row["scores"] = {c[5:]: v for c in score_cols if (v := _finite(rec.get(c))) is not None}
        rows.append(row)
    meta = _meta_from_manifest(manifest) | {"run_dir": str(run_dir)}
    return Snapshot(str(run_dir), meta, _tasks_from_manifest(manifest), tuple(rows))


def _meta_from_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    suite = manifest.get("suite") if isinstance(manifest.get("suite"), Mapping) else {}
    protocol = {k: v for k, v in suite.items() if k not in ("name", "description", "tasks", "candidates", "extra")}
    cands = manifest.get("candidates") if isinstance(manifest.get("candidates"), Mapping) else {}
    order = manifest.get("order") if isinstance(manifest.get("order"), Mapping) else {}
    return {
        "suite_name": suite.get("name"),
        "suite_hash": manifest.get("suite_hash"),
        "git_commit": manifest.get("git_commit"),
        "created": manifest.get("created"),
        "versions": dict(manifest.get("versions") or {}),
        "machine": dict(manifest.get("machine") or {}),
        "protocol": protocol,
        "candidates": {n: {"base": c.get("base"), "fixed": c.get("fixed"), "space_hash": _hash(c.get("spaces"))}
                       for n, c in cands.items() if isinstance(c, Mapping)},
        "candidate_order": list(order.get("candidates") or cands),
    }


def _hash(obj: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _tasks_from_manifest(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    tasks = manifest.get("tasks") if isinstance(manifest.get("tasks"), Mapping) else {}
    return {n: {k: t.get(k) for k in ("data_hash", "split_hash", "kind", "metric", "n_rows")} for n, t in tasks.items() if isinstance(t, Mapping)}


def incomplete_cells(snap: Snapshot) -> list[str]:
    """Task × candidate cells with fewer folds than the task's fullest cell, and absent cells.

    Returns human-readable descriptions (empty: the run is complete).
    """
    cells = snap.cells()
    out = []
    cands = list(snap.meta.get("candidates") or snap.candidates())
    for task in snap.tasks:
        folds = set().union(*(set(f) for (t, _), f in cells.items() if t == task)) if cells else set()
        for cand in cands:
            have = set(cells.get((task, cand), {}))
            if not have:
                out.append(f"{task}/{cand}: no results")
            elif have != folds:
                out.append(f"{task}/{cand}: {len(have)} of {len(folds)} folds")
    return out


# --------------------------------------------------------------------------------------------
# The baseline file
# --------------------------------------------------------------------------------------------


def dumps_baseline(snap: Snapshot) -> str:
    """JSON text of a baseline: readable header, one row per line (small, diff-friendly)."""
    d = snap.to_dict()
    rows = d.pop("rows")
    head = json.dumps(d, indent=1, sort_keys=True, allow_nan=False)
    body = ",\n".join("  " + json.dumps(r, sort_keys=True, allow_nan=False) for r in rows)
    return head[: -len("\n}")] + ',\n "rows": [\n' + body + "\n ]\n}\n"


def write_baseline(snap: Snapshot, path: str | Path) -> Path:
    """Write ``snap`` as a baseline JSON file (atomically); returns the path."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"--out {path}: is a folder; give a file name such as {p / 'baseline.json'}")
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(p, dumps_baseline(snap))


def snapshot_from_dict(data: Any, *, where: str) -> Snapshot:
    """Validate a parsed baseline object; ``where`` names it in errors."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise InputError(f"{where}: not a bench baseline (no \"format\": \"{FORMAT}\"); create one with `bench baseline RUN_DIR --out FILE`")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise InputError(f"{where}: baseline format version {version!r} is not supported (this bench reads version {FORMAT_VERSION}); recreate it with `bench baseline`")
    for key, kind in (("meta", Mapping), ("tasks", Mapping), ("rows", list)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"{where}: field '{key}' is missing or malformed; recreate the baseline with `bench baseline`")
    rows = []
    for i, r in enumerate(data["rows"]):
        if not isinstance(r, Mapping) or not {"task", "candidate", "fold", "state"} <= set(r) or not isinstance(r.get("scores", {}), Mapping):
            raise InputError(f"{where}: rows[{i}] lacks task/candidate/fold/state; recreate the baseline with `bench baseline`")
        rows.append(dict(r) | {"fold": int(r["fold"]), "scores": dict(r.get("scores") or {})})
    return Snapshot(where, dict(data["meta"]), {k: dict(v) for k, v in data["tasks"].items()}, tuple(rows))


def read_baseline(path: str | Path) -> Snapshot:
    """Read a baseline JSON file; :class:`InputError` naming the file for anything unusable."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: baseline file not found; create it with `bench baseline RUN_DIR --out {path}`")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); recreate it with `bench baseline RUN_DIR --out {path}`") from None
    return snapshot_from_dict(data, where=str(path))


def load_snapshot(source: str | Path) -> Snapshot:
    """A run directory or a baseline JSON file → :class:`Snapshot`."""
    p = Path(source)
    if p.is_dir():
        return snapshot_from_run(p)
    if not p.exists():
        raise InputError(f"{source}: no such file or directory; give a baseline JSON file or a run directory")
    return read_baseline(p)


# --------------------------------------------------------------------------------------------
# Comparability
# --------------------------------------------------------------------------------------------


def machine_class(meta: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What makes times comparable: OS, processor, core count, memory (GiB); not the host name."""
    m = meta.get("machine") or {}
    if not m:
        return None
    system = str(m.get("platform") or "").split("-")[0]
    mem = _finite(m.get("memory_gib"))
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


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """Practical tolerance: ``value`` in metric units, or a fraction of |baseline mean| when
    ``relative``; ``value=None`` = the default per metric (0.01 for metrics bounded by 1, 1 % of
    the baseline mean for RMSE, MAE and log loss)."""

    value: float | None = None
    relative: bool = False

    @classmethod
    def parse(cls, text: str | float | None) -> Tolerance:
        """``0.01`` (metric units), ``2%`` (relative to the baseline mean) or ``None`` (default)."""
        if text is None:
            return cls()
        if isinstance(text, (int, float)):
            value, relative = float(text), False
        else:
            s = str(text).strip()
            relative = s.endswith("%")
            try:
                value = float(s[:-1]) / 100.0 if relative else float(s)
            except ValueError:
                raise InputError(f"--tolerance {text!r}: give a number in metric units (0.01) or a percentage of the baseline (2%)") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"--tolerance {text!r}: must be a finite number ≥ 0")
        return cls(value, relative)

    def amount(self, metric: str, baseline_mean: float) -> float:
        """The tolerance in metric units for ``metric`` given the baseline's mean."""
        if self.value is None:
            if is_bounded(metric):
                return DEFAULT_ABS_TOLERANCE
            return DEFAULT_REL_TOLERANCE * abs(baseline_mean)
        return self.value * abs(baseline_mean) if self.relative else self.value

    def describe(self) -> str:
        if self.value is None:
            return f"{DEFAULT_ABS_TOLERANCE:g} (scores in [0, 1]) or {DEFAULT_REL_TOLERANCE:.0%} of the baseline (rmse, mae, log_loss)"
        return f"{self.value * 100:g}% of the baseline" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Options:
    """Settings of one comparison (see the module docstring for the rule)."""

    metric: str | None = None
    tolerance: Tolerance = field(default_factory=Tolerance)
    alpha: float = DEFAULT_ALPHA
    time_ratio: float = DEFAULT_TIME_RATIO
    time_floor: float = DEFAULT_TIME_FLOOR
    times: str = "auto"
    time_field: str = DEFAULT_TIME_FIELD
    allow_missing: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise InputError(f"--alpha {self.alpha}: must lie strictly between 0 and 1")
        if not self.time_ratio > 1.0:
            raise InputError(f"--time-ratio {self.time_ratio}: must be > 1 (e.g. 2 = twice as slow)")
        if not self.time_floor >= 0:
            raise InputError(f"--time-floor {self.time_floor}: must be ≥ 0 seconds")
        if self.time_field not in TIME_FIELDS:
            raise InputError(f"--time-field {self.time_field!r}: choose one of {', '.join(TIME_FIELDS)}")
        if self.times not in TIME_MODES:
            raise InputError(f"--times {self.times!r}: choose one of {', '.join(TIME_MODES)}")


# --------------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One task × candidate present in both runs.

    Scores: ``metric`` and its direction, ``n_folds`` paired ok folds, ``baseline_mean``,
    ``current_mean``, ``delta`` (current − baseline, metric units), ``gain`` (oriented: > 0 is
    better), ``tolerance`` (metric units), ``p_worse``/``p_better`` (one-sided corrected t-test)
    and their Holm-adjusted versions, ``score_status`` (regression | improvement | ok | untested).
    Times: medians of the options' ``time_field`` (``baseline_time``, ``current_time``),
    ``time_ratio`` (current/baseline), ``time_status``
    (regression | improvement | warning | ok | off | untested).
    Failures: ``new_failures`` (ok before, failed or missing now), ``fixed`` (failed before, ok
    now), ``still_failing``, ``errors`` (first line of each new error).
    """

    task: str
    candidate: str
    metric: str
    greater_is_better: bool
    n_folds: int
    baseline_mean: float
    current_mean: float
    delta: float
    gain: float
    tolerance: float
    p_worse: float
    p_better: float
    p_worse_holm: float = math.nan
    p_better_holm: float = math.nan
    score_status: str = "ok"
    baseline_time: float = math.nan
    current_time: float = math.nan
    time_ratio: float = math.nan
    time_status: str = "untested"
    new_failures: int = 0
    missing_folds: int = 0
    fixed: int = 0
    still_failing: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """Something worth saying: ``kind`` score | time | failure | missing | new, ``status``
    regression | improvement | warning | info, and a one-line ``message``."""

    kind: str
    status: str
    task: str
    candidate: str | None
    message: str

    @property
    def where(self) -> str:
        return self.task if self.candidate is None else f"{self.task} / {self.candidate}"


@dataclass(frozen=True)
class RegressionResult:
    """The outcome of :func:`compare`; renderers read only this object.

    ``comparisons`` (one per task × candidate in both runs), ``findings`` (regressions,
    improvements, warnings, info), ``context`` (non-blocking differences: versions, budgets,
    machine), ``options``, ``baseline``/``current`` ({source, commit, created, suite}),
    ``times_mode`` (the effective time mode: fail | warn | off).
    """

    comparisons: tuple[Comparison, ...]
    findings: tuple[Finding, ...]
    context: tuple[str, ...]
    options: Options
    baseline: Mapping[str, Any]
    current: Mapping[str, Any]
    times_mode: str
    notes: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "regression")

    @property
    def improvements(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "improvement")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "warning")

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, 1 when something did."""
        return 1 if self.regressions else 0

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return jsonable({
            "exit_code": self.exit_code,
            "baseline": dict(self.baseline), "current": dict(self.current),
            "options": {**asdict(self.options), "times_effective": self.times_mode},
            "context": list(self.context), "notes": list(self.notes),
            "findings": [asdict(f) for f in self.findings],
            "comparisons": [asdict(c) for c in self.comparisons],
        })

    def to_text(self) -> str:
        return render_text(self)

    def to_markdown(self) -> str:
        return render_markdown(self)

    def to_junit_xml(self) -> str:
        return render_junit(self)


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


def one_sided_p(gains_current: Sequence[float], gains_baseline: Sequence[float], *, n_train: float, n_test: float) -> tuple[float, float]:
    """``(p_worse, p_better)`` of the corrected resampled t-test on oriented paired scores.

    t = mean(current − baseline)/SE with the Nadeau–Bengio SE (``stats.corrected_ttest``);
    p_worse = P(T_{J−1} ≤ t), p_better = P(T_{J−1} ≥ t).  Zero variance: both 0.5 when every
    difference is 0, else 0 in the direction of the (constant) difference and 1 the other way.
    """
    from scipy import stats as sps

    from benchmark.stats import corrected_ttest

    t = corrected_ttest(gains_current, gains_baseline, n_train=n_train, n_test=n_test)
    if math.isinf(t.statistic):
        return (0.0, 1.0) if t.statistic < 0 else (1.0, 0.0)
    if t.se == 0.0:
        return 0.5, 0.5
    return float(sps.t.cdf(t.statistic, t.df)), float(sps.t.sf(t.statistic, t.df))


def _metric_for(task: str, baseline: Snapshot, current: Snapshot, requested: str | None, notes: list[str]) -> str:
    own = str(baseline.tasks[task].get("metric") or current.tasks[task].get("metric") or "")
    if requested is None:
        return own
    recorded = any(requested in r.get("scores", {}) for r in baseline.rows if r["task"] == task)
    if recorded:
        return requested
    notes.append(f"task '{task}': --metric {requested} is not recorded for it; compared on its tuning metric {own}")
    return own


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _compare_cell(task: str, cand: str, metric: str, base: Mapping[int, Mapping[str, Any]], cur: Mapping[int, Mapping[str, Any]], opts: Options) -> Comparison:
    gib = greater_is_better(metric)
    sign = 1.0 if gib else -1.0
    new_fail = missing = fixed = still = 0
    errors: list[str] = []
    paired: list[tuple[float, float, int, int]] = []
    for fold, b in sorted(base.items()):
        c = cur.get(fold)
        b_ok = b.get("state") == "ok"
        if c is None:
            missing += int(b_ok)
            continue
        c_ok = c.get("state") == "ok"
        if b_ok and not c_ok:
            new_fail += 1
            errors.append(f"fold {fold}: {(c.get('error') or 'failed').splitlines()[0][:200]}")
        elif c_ok and not b_ok:
            fixed += 1
        elif not b_ok and not c_ok:
            still += 1
        if b_ok and c_ok:
            sb, sc = _finite(b.get("scores", {}).get(metric)), _finite(c.get("scores", {}).get(metric))
            if sb is not None and sc is not None:
                paired.append((sb, sc, int(c.get("n_train") or b.get("n_train") or 0), int(c.get("n_test") or b.get("n_test") or 0)))
    n = len(paired)
    bm = statistics.fmean(p[0] for p in paired) if n else math.nan
    cm = statistics.fmean(p[1] for p in paired) if n else math.nan
    delta = cm - bm
    tol = opts.tolerance.amount(metric, bm) if n else math.nan
    p_worse = p_better = math.nan
    if n >= 2:
        n_train = statistics.fmean(p[2] for p in paired)
        n_test = statistics.fmean(p[3] for p in paired)
        if n_train > 0 and n_test > 0:
            p_worse, p_better = one_sided_p([sign * p[1] for p in paired], [sign * p[0] for p in paired], n_train=n_train, n_test=n_test)
    b_fit = [v for r in base.values() if r.get("state") == "ok" and (v := _finite(r.get(opts.time_field))) is not None]
    c_fit = [v for r in cur.values() if r.get("state") == "ok" and (v := _finite(r.get(opts.time_field))) is not None]
    bf, cf = _median(b_fit), _median(c_fit)
    ratio = cf / bf if bf > 0 else (math.inf if cf > 0 else math.nan)
    return Comparison(
        task=task, candidate=cand, metric=metric, greater_is_better=gib, n_folds=n,
        baseline_mean=bm, current_mean=cm, delta=delta, gain=sign * delta, tolerance=tol,
        p_worse=p_worse, p_better=p_better, score_status="ok" if n >= 2 else "untested",
        baseline_time=bf, current_time=cf, time_ratio=ratio,
        new_failures=new_fail, missing_folds=missing, fixed=fixed, still_failing=still, errors=tuple(errors),
    )


def _time_status(c: Comparison, opts: Options, mode: str) -> str:
    if mode == "off":
        return "off"
    if not (math.isfinite(c.baseline_time) and math.isfinite(c.current_time)):
        return "untested"
    slower = c.current_time > opts.time_ratio * c.baseline_time and c.current_time - c.baseline_time > opts.time_floor
    faster = c.baseline_time > opts.time_ratio * c.current_time and c.baseline_time - c.current_time > opts.time_floor
    if slower:
        return "regression" if mode == "fail" else "warning"
    return "improvement" if faster else "ok"


def _holm_and_classify(cells: list[Comparison], opts: Options, mode: str) -> list[Comparison]:
    from dataclasses import replace

    import numpy as np

    from benchmark.stats import holm

    worse = holm(np.array([c.p_worse for c in cells], dtype=float)) if cells else np.array([])
    better = holm(np.array([c.p_better for c in cells], dtype=float)) if cells else np.array([])
    out = []
    for c, pw, pb in zip(cells, worse, better, strict=True):
        status = c.score_status
        if status != "untested":
            if c.gain < -c.tolerance and pw < opts.alpha:
                status = "regression"
            elif c.gain > c.tolerance and pb < opts.alpha:
                status = "improvement"
            else:
                status = "ok"
        c = replace(c, p_worse_holm=float(pw), p_better_holm=float(pb), score_status=status)
        out.append(replace(c, time_status=_time_status(c, opts, mode)))
    return out


def _findings_for(c: Comparison, opts: Options) -> list[Finding]:
    out = []
    change = f"{c.metric} {fixed(c.baseline_mean)} → {fixed(c.current_mean)} ({c.delta:+.4f}, tolerance {c.tolerance:.4g}"
    if c.score_status == "regression":
        out.append(Finding("score", "regression", c.task, c.candidate, f"{change}, p_holm {p_text(c.p_worse_holm)} over {c.n_folds} folds)"))
    elif c.score_status == "improvement":
        out.append(Finding("score", "improvement", c.task, c.candidate, f"{change}, p_holm {p_text(c.p_better_holm)} over {c.n_folds} folds)"))
    elif c.score_status == "untested":
        out.append(Finding("score", "info", c.task, c.candidate, f"{c.metric}: only {c.n_folds} paired ok fold(s); no test"))
    tchange = (f"median {opts.time_field} {seconds_text(c.baseline_time)} s → {seconds_text(c.current_time)} s (×{c.time_ratio:.2f}; "
               f"limit ×{opts.time_ratio:g} and +{opts.time_floor:g} s)")
    if c.time_status == "regression":
        out.append(Finding("time", "regression", c.task, c.candidate, tchange))
    elif c.time_status == "warning":
        out.append(Finding("time", "warning", c.task, c.candidate, tchange + "; not failing: the machines differ or --times warn"))
    elif c.time_status == "improvement":
        out.append(Finding("time", "improvement", c.task, c.candidate, tchange))
    if c.new_failures or c.missing_folds:
        parts = []
        if c.new_failures:
            parts.append(f"{c.new_failures} fold(s) newly failed")
        if c.missing_folds:
            parts.append(f"{c.missing_folds} fold(s) missing from the run")
        first = f": {c.errors[0]}" if c.errors else ""
        out.append(Finding("failure", "regression", c.task, c.candidate, ", ".join(parts) + first))
    if c.fixed:
        out.append(Finding("failure", "improvement", c.task, c.candidate, f"{c.fixed} fold(s) that failed in the baseline now succeed"))
    if c.still_failing:
        out.append(Finding("failure", "info", c.task, c.candidate, f"{c.still_failing} fold(s) fail in both runs"))
    return out


def _info(snap: Snapshot) -> dict[str, Any]:
    return {"source": snap.source, "commit": snap.commit, "created": snap.created, "suite": snap.suite_name}


def compare(baseline: Snapshot, current: Snapshot, options: Options | None = None) -> RegressionResult:
    """Compare ``current`` against ``baseline``; raise :class:`IncompatibleRunError` when they
    are not comparable (different data, splits, metric or protocol)."""
    opts = options or Options()
    context = require_comparable(baseline, current)
    mode = opts.times
    if mode == "auto":
        mode = "fail" if machine_class(baseline.meta) == machine_class(current.meta) and machine_class(current.meta) else "warn"
    notes: list[str] = []
    if opts.metric is not None and not any(opts.metric in r.get("scores", {}) for r in baseline.rows):
        recorded = sorted({m for r in baseline.rows for m in r.get("scores", {})})
        raise InputError(f"--metric {opts.metric}: not recorded in the baseline (recorded: {', '.join(recorded) or 'none'})")
    bcells, ccells = baseline.cells(), current.cells()
    findings: list[Finding] = []
    cells: list[Comparison] = []
    missing_status = "warning" if opts.allow_missing else "regression"
    metrics = {t: _metric_for(t, baseline, current, opts.metric, notes) for t in baseline.tasks if t in current.tasks}
    for task in baseline.tasks:
        if task not in current.tasks:
            findings.append(Finding("missing", missing_status, task, None, "task is in the baseline but not in the run"))
            continue
        for cand in baseline.candidates():
            if (task, cand) not in bcells:
                continue
            if (task, cand) not in ccells:
                findings.append(Finding("missing", missing_status, task, cand, "candidate is in the baseline but not in the run"))
                continue
            cells.append(_compare_cell(task, cand, metrics[task], bcells[(task, cand)], ccells[(task, cand)], opts))
    cells = _holm_and_classify(cells, opts, mode)
    for c in cells:
        findings.extend(_findings_for(c, opts))
    for task in current.tasks:
        if task not in baseline.tasks:
            findings.append(Finding("new", "info", task, None, "task is new (no baseline); update the baseline to track it"))
            continue
        for cand in current.candidates():
            if (task, cand) in ccells and (task, cand) not in bcells:
                findings.append(Finding("new", "info", task, cand, "candidate is new (no baseline); update the baseline to track it"))
    return RegressionResult(tuple(cells), tuple(findings), tuple(context), opts, _info(baseline), _info(current), mode, tuple(notes))


# --------------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------------


def _verdict(c: Comparison) -> str:
    bad = [k for k, s in (("score", c.score_status), ("time", c.time_status)) if s == "regression"]
    if c.new_failures or c.missing_folds:
        bad.append("failures")
    if bad:
        return "REGRESSION (" + ", ".join(bad) + ")"
    good = [k for k, s in (("score", c.score_status), ("time", c.time_status)) if s == "improvement"]
    if c.fixed:
        good.append("fixed")
    if good:
        return "improved (" + ", ".join(good) + ")"
    if c.time_status == "warning":
        return "ok (slower: warning)"
    return "untested" if c.score_status == "untested" else "ok"


def _rule_text(r: RegressionResult) -> str:
    o = r.options
    n = sum(c.score_status != "untested" for c in r.comparisons)
    return (f"regression = drop > tolerance {o.tolerance.describe()} and one-sided corrected t-test p < {o.alpha:g} "
            f"(Holm over {n} comparisons); time: median {o.time_field} > ×{o.time_ratio:g} and > +{o.time_floor:g} s "
            f"({'checked' if r.times_mode == 'fail' else 'warning only' if r.times_mode == 'warn' else 'not checked'})")


def _head(r: RegressionResult) -> tuple[str, str]:
    def side(d: Mapping[str, Any]) -> str:
        commit = f"commit {str(d.get('commit'))[:12]}" if d.get("commit") else "no commit"
        return f"{d.get('source')} ({commit}, {d.get('created') or 'unknown date'})"

    return side(r.baseline), side(r.current)


def _table_rows(r: RegressionResult) -> list[list[str]]:
    rows = []
    for c in r.comparisons:
        fails = ""
        if c.new_failures or c.missing_folds or c.fixed or c.still_failing:
            fails = f"+{c.new_failures + c.missing_folds}/-{c.fixed}/={c.still_failing}"
        rows.append([c.task, c.candidate, c.metric, fixed(c.baseline_mean), fixed(c.current_mean),
                     fixed(c.delta, sign=True),
                     p_text(c.p_worse_holm if c.gain <= 0 else c.p_better_holm),
                     f"{seconds_text(c.baseline_time)} → {seconds_text(c.current_time)}", fails or "–", _verdict(c)])
    return rows


def _header(r: RegressionResult) -> list[str]:
    return ["task", "candidate", "metric", "baseline", "current", "change", "p (Holm)", TIME_LABELS[r.options.time_field], "failures", "verdict"]


def render_text(r: RegressionResult) -> str:
    """A terminal report: what was compared, the table, then regressions/improvements/warnings."""
    base, cur = _head(r)
    lines = [f"baseline: {base}", f"run:      {cur}", f"rule:     {_rule_text(r)}"]
    lines += [f"context:  {c}" for c in r.context]
    lines += [f"note:     {n}" for n in r.notes]
    lines.append("")
    rows = _table_rows(r)
    if rows:
        header = _header(r)
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        right = {3, 4, 5, 6}
        def fmt_row(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
        lines.append(fmt_row(header))
        lines.append("  ".join("-" * w for w in widths))
        lines += [fmt_row(row) for row in rows]
        lines.append("")
    for title, items in (("REGRESSIONS", r.regressions), ("Improvements", r.improvements), ("Warnings", r.warnings),
                         ("Info", tuple(f for f in r.findings if f.status == "info"))):
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  - [{f.kind}] {f.where}: {f.message}" for f in items]
    verdict = (f"RESULT: FAIL: {len(r.regressions)} regression(s) (exit code 1)" if r.exit_code
               else f"RESULT: PASS: no regression ({len(r.improvements)} improvement(s), {len(r.warnings)} warning(s))")
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    """Escape text for a Markdown table cell (and neutralise HTML)."""
    import html

    s = html.escape(str(text), quote=False)
    for ch in "\\`*_[]|#":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def render_markdown(r: RegressionResult) -> str:
    """A pull-request comment: verdict, regressions, improvements, warnings, the full table
    in a collapsed ``<details>`` block, the rule and the context."""
    base, cur = _head(r)
    icon = "❌" if r.exit_code else "✅"
    title = (f"{len(r.regressions)} regression(s)" if r.exit_code else "no regression")
    out = [f"### {icon} Benchmark regression check: {title}", "",
           f"Baseline: {_md(base)}  ", f"Run: {_md(cur)}", ""]
    for heading, items in (("Regressions", r.regressions), ("Improvements", r.improvements), ("Warnings", r.warnings)):
        if items:
            out += [f"**{heading} ({len(items)})**", "", "| where | what | details |", "|---|---|---|"]
            out += [f"| {_md(f.where)} | {f.kind} | {_md(f.message)} |" for f in items]
            out.append("")
    if not r.regressions and not r.improvements:
        out += ["No significant change beyond the tolerance.", ""]
    rows = _table_rows(r)
    if rows:
        header = _header(r)
        out += ["<details><summary>All comparisons</summary>", "", "| " + " | ".join(header) + " |",
                "|" + "|".join("---:" if i in (3, 4, 5, 6) else "---" for i in range(len(header))) + "|"]
        out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        out += ["", "</details>", ""]
    info = [f for f in r.findings if f.status == "info"]
    if info:
        out += ["**Info**", ""] + [f"- {_md(f.where)}: {_md(f.message)}" for f in info] + [""]
    out.append(f"<sub>Rule: {_md(_rule_text(r))}.</sub>")
    if r.context or r.notes:
        out += ["", "<sub>Context: " + _md("; ".join([*r.context, *r.notes])) + "</sub>"]
    return "\n".join(out) + "\n"


def render_junit(r: RegressionResult) -> str:
    """JUnit XML: one test case per score, time and failure check of each task × candidate,
    plus one per missing or new candidate/task; every regression is a ``<failure>``, untested or
    new items are ``<skipped>``, improvements and warnings are in ``<system-out>``."""
    import xml.etree.ElementTree as ET

    cases: list[ET.Element] = []

    def case(classname: str, name: str, *, failure: str | None = None, skipped: str | None = None, out: str | None = None, kind: str = "") -> None:
        el = ET.Element("testcase", {"classname": classname, "name": name, "time": "0"})
        if failure is not None:
            f = ET.SubElement(el, "failure", {"message": failure, "type": f"{kind} regression"})
            f.text = failure
        elif skipped is not None:
            ET.SubElement(el, "skipped", {"message": skipped})
        if out:
            ET.SubElement(el, "system-out").text = out
        cases.append(el)

    by_cell: dict[tuple[str, str | None, str], list[Finding]] = {}
    for f in r.findings:
        by_cell.setdefault((f.task, f.candidate, f.kind), []).append(f)

    def msg(task: str, cand: str | None, kind: str, status: str) -> str | None:
        found = [f.message for f in by_cell.get((task, cand, kind), []) if f.status == status]
        return "; ".join(found) if found else None

    for c in r.comparisons:
        cls = f"bench.{c.task}"
        detail = f"{c.metric} {fixed(c.baseline_mean)} → {fixed(c.current_mean)} ({c.delta:+.4f}), p_holm worse {p_text(c.p_worse_holm)}, better {p_text(c.p_better_holm)}"
        case(cls, f"{c.candidate}: {c.metric}", kind="score", failure=msg(c.task, c.candidate, "score", "regression"),
             skipped=msg(c.task, c.candidate, "score", "info"),
             out=("improved: " + (msg(c.task, c.candidate, "score", "improvement") or "")) if c.score_status == "improvement" else detail)
        if c.time_status != "off":
            extra = msg(c.task, c.candidate, "time", "warning") or msg(c.task, c.candidate, "time", "improvement")
            case(cls, f"{c.candidate}: {r.options.time_field}", kind="time", failure=msg(c.task, c.candidate, "time", "regression"),
                 skipped=f"no {r.options.time_field} recorded" if c.time_status == "untested" else None,
                 out=extra or f"median {r.options.time_field} {seconds_text(c.baseline_time)} s → {seconds_text(c.current_time)} s")
        case(cls, f"{c.candidate}: failures", kind="failure", failure=msg(c.task, c.candidate, "failure", "regression"),
             out=msg(c.task, c.candidate, "failure", "improvement") or msg(c.task, c.candidate, "failure", "info"))
    for f in r.findings:
        if f.kind == "missing":
            name = f"{f.candidate}: present" if f.candidate else "task present"
            if f.status == "regression":
                case(f"bench.{f.task}", name, kind="missing", failure=f.message)
            else:
                case(f"bench.{f.task}", name, skipped=f.message)
        elif f.kind == "new":
            case(f"bench.{f.task}", f"{f.candidate}: present" if f.candidate else "task present", skipped=f.message)
    n_fail = sum(1 for el in cases if el.find("failure") is not None)
    n_skip = sum(1 for el in cases if el.find("skipped") is not None)
    attrs = {"name": "bench regress", "tests": str(len(cases)), "failures": str(n_fail), "errors": "0", "skipped": str(n_skip)}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "name": f"bench regress {r.current.get('suite') or ''}".strip(),
                                              "timestamp": str(r.current.get("created") or "")})
    props = ET.SubElement(suite, "properties")
    for k, v in (("baseline", r.baseline.get("source")), ("baseline_commit", r.baseline.get("commit")),
                 ("run", r.current.get("source")), ("run_commit", r.current.get("commit")), ("rule", _rule_text(r))):
        ET.SubElement(props, "property", {"name": k, "value": str(v)})
    suite.extend(cases)
    summary = [f"{f.status}: [{f.kind}] {f.where}: {f.message}" for f in r.findings if f.status in ("improvement", "warning")]
    summary += [f"context: {c}" for c in r.context]
    if summary:
        ET.SubElement(suite, "system-out").text = "\n".join(summary)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def error_markdown(message: str) -> str:
    """A PR comment for a comparison that could not be made (exit code 2)."""
    return f"### ⚠️ Benchmark regression check: not comparable\n\n{_md(message)}\n"


def error_junit(message: str) -> str:
    """JUnit XML with one ``<error>`` test case (exit code 2)."""
    import xml.etree.ElementTree as ET

    attrs = {"name": "bench regress", "tests": "1", "failures": "0", "errors": "1", "skipped": "0"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    case = ET.SubElement(suite, "testcase", {"classname": "bench", "name": "comparable with the baseline", "time": "0"})
    ET.SubElement(case, "error", {"message": message, "type": "not comparable"}).text = message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
