"""The outcome of ``bench regress``: frozen result objects that the renderers read.

:class:`RegressionResult` holds one :class:`Comparison` per task × candidate in both runs and
the :class:`Finding` s (regressions, improvements, warnings, info); ``exit_code`` is 0 when
nothing regressed and 1 when something did.  ``to_text()``, ``to_markdown()`` and
``to_junit_xml()`` are the renderers of :mod:`benchmark.ci.render`; ``to_dict()`` is the JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmark.ci.render import render_junit, render_markdown, render_text
from benchmark.serialize import jsonable

if TYPE_CHECKING:
    from benchmark.ci.rule import Options


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
