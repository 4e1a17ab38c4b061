"""The decision rule of ``bench regress``: options, and :func:`compare` → :class:`~benchmark.ci.result.RegressionResult`.

The rule (per task × candidate, on the folds that are ``ok`` in both runs, paired by fold index
and fold hash):

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

Runs that are not comparable (:mod:`benchmark.ci.compatible`) raise
:class:`~benchmark.errors.IncompatibleRunError` before anything is compared.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.ci.compatible import machine_class, require_comparable
from benchmark.ci.result import Comparison, Finding, RegressionResult
from benchmark.ci.snapshot import Snapshot, finite_float
from benchmark.errors import InputError
from benchmark.metrics import greater_is_better, is_bounded
from benchmark.report.markup import fixed, p_text, seconds_text

DEFAULT_ALPHA = 0.05
DEFAULT_ABS_TOLERANCE = 0.01  # score units, for metrics bounded by 1 (AUC, accuracy, F1, R²)
DEFAULT_REL_TOLERANCE = 0.01  # 1 % of the baseline mean, for unbounded metrics (RMSE, MAE, log loss)
DEFAULT_TIME_RATIO = 3.0
DEFAULT_TIME_FLOOR = 0.05  # seconds
DEFAULT_TIME_FIELD = "cpu_seconds"
TIME_MODES = ("auto", "fail", "warn", "off")
TIME_FIELDS = ("cpu_seconds", "fit_seconds", "tune_seconds", "total_seconds")


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
            sb, sc = finite_float(b.get("scores", {}).get(metric)), finite_float(c.get("scores", {}).get(metric))
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
    b_fit = [v for r in base.values() if r.get("state") == "ok" and (v := finite_float(r.get(opts.time_field))) is not None]
    c_fit = [v for r in cur.values() if r.get("state") == "ok" and (v := finite_float(r.get(opts.time_field))) is not None]
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
