"""Suites: YAML → frozen dataclasses, validated at the boundary.

Every error names the file and the field, says what is wrong and what to do, on one line:
``suites/foo.yaml: tasks[2].target: column 'label' not in data/credit.csv (columns: ...)``.
YAML is read with a ``yaml.SafeLoader`` only (which also rejects duplicate keys), and the work
it may cause is bounded before anything looks at the values: a suite file is at most
:data:`MAX_SUITE_BYTES`, and its values, with every alias expanded, at most
:data:`MAX_SUITE_NODES` (an alias "bomb" is refused from its node counts, never expanded).
Messages show a bad value through :func:`_shown`, a repr cut to one short line.
"""

from __future__ import annotations

import hashlib
import json
import math
import reprlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.candidates import Candidate, CandidateConfig, get_spec
from benchmark.candidates.custom import as_spec, import_object
from benchmark.candidates.spaces import narrow
from benchmark.data.registry import DATASETS
from benchmark.data.task import TaskConfig
from benchmark.errors import InputError
from benchmark.metrics import CLASSIFICATION, DEFAULT_METRIC, METRICS, REGRESSION, get_metric

SAMPLERS = ("tpe", "random")
#: Largest suite file read (a suite is a page of text; a bigger file is refused before parsing).
MAX_SUITE_BYTES = 256_000
#: Most YAML values (scalars, lists, mappings) a suite may hold with its aliases expanded.
MAX_SUITE_NODES = 20_000
#: Longest free text (``description``) a suite may carry.
MAX_TEXT_CHARS = 20_000
_MAX_TRIALS = 100_000
_MAX_FOLDS = 1_000
_SUITE_KEYS = {
    "name", "description", "seed", "metric", "folds", "repeats", "inner", "trials", "seconds",
    "sampler", "timeout", "retries", "tasks", "candidates", "max_rows", "model_seed", "learning_curve", "budget_curve",
    "final",
}
_TASK_KEYS = {"name", "dataset", "path", "openml", "target", "drop", "groups", "time", "kind", "max_rows"}
_CAND_KEYS = {"name", "base", "params", "space", "estimator", "preprocess"}
_SETTINGS_KEYS = {"seed", "folds", "repeats", "inner", "trials", "seconds", "sampler", "timeout", "retries", "model_seed", "learning_curve", "budget_curve",
                  "final"}
#: How a job's test prediction is made: ``refit`` the chosen configuration on the outer training
#: rows, or ``bag`` (average the chosen configuration's inner-fold models; no refit).
FINALS = ("refit", "bag")
_MAX_RETRIES = 10
#: Fractions of the outer training rows the tuned configuration is refitted on for learning curves.
DEFAULT_LEARNING_CURVE = (0.1, 0.2, 0.4, 0.7, 1.0)


class _TooBig(yaml.YAMLError):
    """A suite over :data:`MAX_SUITE_NODES` values (counted while composing, aliases expanded)."""


class _SuiteLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key given twice in one mapping (YAML keeps the last
    silently) and a document that would expand to more than :data:`MAX_SUITE_NODES` values."""

    _n_nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._n_nodes += 1
        if self._n_nodes > MAX_SUITE_NODES:
            raise _TooBig(f"more than {MAX_SUITE_NODES:,} values")
        return super().compose_node(parent, index)

    def construct_document(self, node: yaml.Node) -> Any:
        size = _expanded_size(node, {})
        if size > MAX_SUITE_NODES:
            raise _TooBig(f"{_count(size)} values once its aliases (*name) are expanded")
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}' (also on line {seen[key] + 1})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark.line
            except TypeError:  # unhashable key: SafeLoader reports it below
                continue
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class Suite:
    """A validated suite. ``metric`` maps a kind group (``classification``/``regression``) to a metric."""

    name: str
    tasks: tuple[TaskConfig, ...]
    candidates: tuple[CandidateConfig, ...]
    metric: Mapping[str, str]
    seed: int = 0
    folds: int = 5
    repeats: int = 1
    inner: int | float = 3
    trials: int = 20
    seconds: float | None = None
    sampler: str = "tpe"
    timeout: float | None = None  # seconds per model fit (see benchmark.run.limits)
    retries: int = 0  # re-submissions of a job lost to a crashed worker (not part of the hash)
    model_seed: int | None = None
    learning_curve: tuple[float, ...] = DEFAULT_LEARNING_CURVE
    budget_curve: bool = True
    final: str = "refit"  # "refit" | "bag" (see FINALS)
    description: str = ""
    source: str = "<memory>"
    base_dir: str = "."
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_model_seed(self) -> int:
        """Seed of the models and the tuning sampler; ``seed`` alone decides the splits."""
        return self.seed if self.model_seed is None else self.model_seed

    def metric_for(self, kind: str) -> str:
        """The tuning metric for a task of ``kind`` (binary, multiclass or regression)."""
        group = "regression" if kind == "regression" else "classification"
        return self.metric[group]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (stored in the run manifest; hashed for resume checks)."""
        d = asdict(self)
        d["candidates"] = [c.to_dict() for c in self.candidates]
        d["metric"] = dict(self.metric)
        d.pop("source")
        d.pop("base_dir")
        return d

    def hash(self) -> str:
        """Content hash of everything that changes results (not the file's path, comments or description)."""
        d = self.to_dict()
        d.pop("description")
        d.pop("retries")  # how often a crashed job is retried does not change any result
        if d.get("final") == "refit":
            d.pop("final")  # the default: runs made before the field existed keep their hash
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()

    def with_overrides(self, **changes: Any) -> Suite:
        """A copy with some top-level fields replaced (e.g. ``seed`` or ``trials`` from the CLI).

        ``None`` values are ignored; budget/protocol fields are validated like the suite's own.
        """
        from dataclasses import replace

        changes = {k: v for k, v in changes.items() if v is not None}
        for key in set(changes) & _SETTINGS_KEYS:
            changes[key] = parse_settings({key: changes[key]})[key]
        return replace(self, **changes)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` holds once every alias is expanded; each distinct node is counted
    once (``memo``), so a billion-laughs document is measured in microseconds, not expanded."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as nothing more; SafeLoader reports it
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 2, 4, 4, 60, 60, 40


def _shown(value: Any) -> str:
    """A bad value as it goes into an error message: a repr cut to one short line, bounded in
    time and length whatever the value (a huge list, an expanded alias bomb)."""
    return _REPR.repr(value).replace("\n", " ")


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite YAML file; raise InputError naming file and field on any problem."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"suite file not found: {p} (see `bench list suites`)")
    size = p.stat().st_size
    if size > MAX_SUITE_BYTES:
        raise InputError(f"the file is {size:,} bytes, over the limit of {MAX_SUITE_BYTES:,} for a suite; "
                         f"a suite names its data files, it does not hold data", where=str(p))
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_SuiteLoader)  # a SafeLoader subclass
    except _TooBig as exc:
        raise InputError(f"the suite holds {exc}, over the limit for a suite; it should be a short list "
                         f"of tasks and candidates: remove the aliases or the bulk data", where=str(p)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "could not determine a constructor for the tag" in problem:
            quoted = problem.split("'")
            tag = (quoted[1] if len(quoted) > 2 else "?").replace("tag:yaml.org,2002:", "!!")
            raise InputError(
                f"YAML tag {tag!r}{line} is not allowed: suites are plain data, read with a safe loader that never builds objects; remove the tag",
                where=str(p),
            ) from None
        raise InputError(f"not valid YAML{line}: {problem}; fix the syntax", where=str(p)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file; save the suite as UTF-8 YAML", where=str(p)) from None
    except ValueError as exc:  # a scalar YAML cannot convert, e.g. the date 2024-13-45
        raise InputError(f"not valid YAML: {exc}; fix the value (quote it if it is text)", where=str(p)) from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply; fix the structure", where=str(p)) from None
    if raw is None:
        raise InputError("the file is empty (or only comments); a suite needs at least 'tasks' and 'candidates'", where=str(p))
    try:
        return parse_suite(raw, source=str(p), base_dir=str(p.parent.resolve()))
    except InputError as err:
        raise _prefix(err, str(p)) from None


def _prefix(err: InputError, file: str) -> InputError:
    where = f"{file}: {err.where}" if err.where else file
    return InputError(err.detail, where=where)


def parse_suite(raw: Any, *, source: str = "<memory>", base_dir: str = ".") -> Suite:
    """Validate an already-parsed suite mapping (locations in errors are field paths)."""
    if not isinstance(raw, Mapping):
        raise InputError("a suite must be a YAML mapping with at least 'tasks' and 'candidates'")
    _unknown_keys(raw, _SUITE_KEYS, "")
    for key in ("tasks", "candidates"):
        if key not in raw:
            raise InputError(f"missing required field '{key}'", where=key)
    name = _str(raw.get("name", Path(source).stem if source != "<memory>" else "suite"), "name")
    suite_max_rows = _opt_int(raw.get("max_rows"), "max_rows", low=10)
    tasks = _tasks(raw["tasks"], suite_max_rows)
    candidates = parse_candidates(raw["candidates"])
    return Suite(
        name=name,
        description=_text(raw.get("description"), "description"),
        tasks=tasks,
        candidates=candidates,
        source=source,
        base_dir=base_dir,
        **parse_settings(raw),
    )


def parse_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the budget and protocol fields shared by suites and ``compare()``.

    Returns keyword arguments for :class:`Suite`: metric, seed, folds, repeats, inner, trials,
    seconds, sampler, timeout, retries, model_seed, learning_curve, budget_curve, final.
    """
    inner = raw.get("inner", 3)
    if isinstance(inner, Mapping):
        if set(inner) != {"holdout"}:
            raise InputError("write 'inner: 3' (folds) or 'inner: {holdout: 0.2}'", where="inner")
        inner = _number(inner["holdout"], "inner.holdout")
    return {
        "metric": _metric(raw.get("metric")),
        "seed": _int(raw.get("seed", 0), "seed", low=0, high=2**32 - 1),
        "folds": _int(raw.get("folds", 5), "folds", low=2, high=_MAX_FOLDS),
        "repeats": _int(raw.get("repeats", 1), "repeats", low=1, high=_MAX_FOLDS),
        "inner": _inner(inner),
        "trials": _int(raw.get("trials", 20), "trials", low=1, high=_MAX_TRIALS),
        "seconds": _opt_positive(raw.get("seconds"), "seconds"),
        "sampler": _choice(raw.get("sampler", "tpe"), SAMPLERS, "sampler"),
        "timeout": _opt_positive(raw.get("timeout"), "timeout"),
        "retries": _int(raw.get("retries", 0), "retries", low=0, high=_MAX_RETRIES),
        "model_seed": None if raw.get("model_seed") is None else _int(raw.get("model_seed"), "model_seed", low=0, high=2**32 - 1),
        "learning_curve": _learning_curve(raw.get("learning_curve", True)),
        "budget_curve": _bool(raw.get("budget_curve", True), "budget_curve"),
        "final": _choice(raw.get("final", "refit"), FINALS, "final"),
    }


# --------------------------------------------------------------------------------------------
# fields


def _metric(value: Any) -> dict[str, str]:
    if value is None:
        return dict(DEFAULT_METRIC)
    if isinstance(value, str):
        m = _known_metric(value, "metric")
        group = "regression" if "regression" in m.kinds else "classification"
        other = "classification" if group == "regression" else "regression"
        return {group: m.name, other: ""}
    if isinstance(value, Mapping):
        _unknown_keys(value, {"classification", "regression"}, "metric")
        out = dict(DEFAULT_METRIC)
        for group, name in value.items():
            m = _known_metric(_str(name, f"metric.{group}"), f"metric.{group}")
            kinds = CLASSIFICATION if group == "classification" else REGRESSION
            if not all(m.applies_to(k) for k in kinds):
                raise InputError(f"'{m.name}' is not a {group} metric", where=f"metric.{group}")
            out[group] = m.name
        return out
    raise InputError("write a metric name (metric: roc_auc) or one per kind (metric: {classification: roc_auc, regression: rmse})", where="metric")


def _known_metric(name: str, where: str):
    try:
        return get_metric(name)
    except InputError as err:
        raise InputError(err.detail, where=where) from None


def _tasks(value: Any, suite_max_rows: int | None) -> tuple[TaskConfig, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("give a non-empty list of tasks, e.g. '- dataset: breast_cancer'", where="tasks")
    out: list[TaskConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        task = _task(item, f"tasks[{i}]", suite_max_rows)
        if task.name in seen:
            raise InputError(f"duplicate task name '{task.name}'; give each task a unique 'name'", where=f"tasks[{i}].name")
        seen.add(task.name)
        out.append(task)
    return tuple(out)


def _task(item: Any, where: str, suite_max_rows: int | None) -> TaskConfig:
    if isinstance(item, str):
        item = {"dataset": item}
    if not isinstance(item, Mapping):
        raise InputError("a task is a mapping like '{dataset: iris}' or '{path: data.csv, target: y}'", where=where)
    _unknown_keys(item, _TASK_KEYS, where)
    sources = [k for k in ("dataset", "path", "openml") if item.get(k) is not None]
    if len(sources) != 1:
        raise InputError("give exactly one of 'dataset', 'path' or 'openml'", where=where)
    src = sources[0]
    if src == "dataset":
        ds = _str(item["dataset"], f"{where}.dataset")
        if ds not in DATASETS:
            import difflib

            close = difflib.get_close_matches(ds, list(DATASETS), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InputError(f"unknown dataset '{ds}'{hint}; see `bench list datasets`", where=f"{where}.dataset")
        extra = [k for k in ("target", "drop", "groups", "time", "kind") if item.get(k) is not None]
        if extra:
            raise InputError(
                f"'{extra[0]}' applies to file tasks (path:) only; a registered dataset brings its own target and columns",
                where=f"{where}.{extra[0]}",
            )
    if src == "path" and item.get("target") is None:
        raise InputError("a file task needs 'target': the column to predict", where=f"{where}.target")
    name = item.get("name") or (item.get("dataset") or (Path(str(item.get("path"))).stem if src == "path" else f"openml_{item.get('openml')}"))
    drop = item.get("drop") or ()
    if isinstance(drop, str):
        drop = (drop,)
    if not isinstance(drop, (list, tuple)) or not all(isinstance(d, str) for d in drop):
        raise InputError("'drop' is a list of column names", where=f"{where}.drop")
    kind = item.get("kind")
    if kind is not None:
        kind = _choice(kind, ("binary", "multiclass", "classification", "regression"), f"{where}.kind")
    max_rows = _opt_int(item.get("max_rows"), f"{where}.max_rows", low=10)
    return TaskConfig(
        name=_str(name, f"{where}.name"),
        dataset=item.get("dataset"),
        path=_opt_str(item.get("path"), f"{where}.path"),
        openml=_opt_int(item.get("openml"), f"{where}.openml", low=1),
        target=_opt_str(item.get("target"), f"{where}.target"),
        drop=tuple(drop),
        groups=_opt_str(item.get("groups"), f"{where}.groups"),
        time=_opt_str(item.get("time"), f"{where}.time"),
        kind=kind,
        max_rows=max_rows if max_rows is not None else suite_max_rows,
    )


def parse_candidates(value: Any) -> tuple[CandidateConfig, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("give a non-empty list of candidates, e.g. [linear, random_forest]", where="candidates")
    out: list[CandidateConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"candidates[{i}]"
        cand = _candidate(item, where)
        if cand.name in seen:
            raise InputError(f"duplicate candidate '{cand.name}'; give variants a new 'name'", where=where)
        seen.add(cand.name)
        out.append(cand)
    return tuple(out)


def _candidate(item: Any, where: str) -> CandidateConfig:
    if isinstance(item, Candidate):
        return item.to_config(where)
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise InputError("a candidate is a name or a mapping with 'name' (and optional 'base' or 'estimator', 'params', 'space'), or a benchmark.Candidate", where=where)
    _unknown_keys(item, _CAND_KEYS, where)
    name = _str(item.get("name"), f"{where}.name")
    if "estimator" in item:
        return _estimator_candidate(item, name, where)
    if "preprocess" in item:
        raise InputError("'preprocess' applies to 'estimator:' candidates only", where=f"{where}.preprocess")
    base = _str(item.get("base", name), f"{where}.base")
    try:
        spec = get_spec(base)
    except InputError as err:
        raise InputError(err.detail, where=f"{where}.{'base' if 'base' in item else 'name'}") from None
    params = item.get("params") or {}
    if not isinstance(params, Mapping):
        raise InputError("'params' is a mapping of fixed parameter values", where=f"{where}.params")
    overrides = item.get("space") or {}
    if not isinstance(overrides, Mapping):
        raise InputError("'space' is a mapping {param: narrower range or fixed value}", where=f"{where}.space")
    overrides = {k: _full_spec(v, f"{where}.space.{k}") for k, v in overrides.items()}
    spaces: dict[str, dict[str, Any]] = {}
    fixed = dict(params)
    fixed_from = {str(k): "params" for k in params}
    for group, space in spec.spaces.items():
        applicable = {k: v for k, v in overrides.items() if k in space or isinstance(v, Mapping) and "type" in v}
        missing = [k for k in overrides if k not in applicable and not any(k in s for s in spec.spaces.values())]
        if missing:
            raise InputError(
                f"no tunable parameter '{missing[0]}' in {base} (tunable: {', '.join(sorted(set().union(*spec.spaces.values())))}); "
                "give a full spec with 'type' to add one",
                where=f"{where}.space.{missing[0]}",
            )
        new, fixed_here = narrow(space, applicable, where=f"{where}.space")
        for k in params:
            new.pop(k, None)  # a fixed parameter is no longer tuned
        spaces[group] = new
        fixed.update(fixed_here)
        fixed_from.update({k: "space" for k in fixed_here if k not in params})
    return CandidateConfig(name=name, base=base, fixed=fixed, spaces=spaces, fixed_from=fixed_from)


def _full_spec(value: Any, where: str) -> Any:
    """A distribution object or a list in a ``space:`` override becomes a full spec (with ``type``)."""
    if isinstance(value, Mapping):
        return value
    spec = as_spec(value, where=where)
    return value if spec is None else spec


def _estimator_candidate(item: Mapping[str, Any], name: str, where: str) -> CandidateConfig:
    """``{name, estimator: module:attr, params, space, preprocess}``: your own estimator by import path."""
    if "base" in item:
        raise InputError("give either 'base' (a registered candidate) or 'estimator' (an import path), not both", where=f"{where}.base")
    obj = import_object(item["estimator"], where=f"{where}.estimator")
    params = item.get("params") or {}
    if not isinstance(params, Mapping):
        raise InputError("'params' is a mapping of fixed parameter values", where=f"{where}.params")
    return Candidate(name, obj, space=item.get("space") or {}, params=params, preprocess=item.get("preprocess", "auto")).to_config(where)


# --------------------------------------------------------------------------------------------
# scalar helpers


def _unknown_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(sorted(allowed))}"
            loc = f"{where}.{key}" if where else str(key)
            raise InputError(f"unknown field '{key}' ({hint})", where=loc)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"must be a non-empty string (got {_shown(value)})", where=where)
    return value


def _text(value: Any, where: str) -> str:
    """Optional free text: a string of at most :data:`MAX_TEXT_CHARS` characters (absent → "")."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"must be text (got a {type(value).__name__}: {_shown(value)}); quote it", where=where)
    if len(value) > MAX_TEXT_CHARS:
        raise InputError(f"is {len(value):,} characters long, over the limit of {MAX_TEXT_CHARS:,}; shorten it", where=where)
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _int(value: Any, where: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, str) and _looks_numeric(value):
            hint = "; write plain digits without quotes (YAML reads exponent notation like 1e12 as text)"
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            hint = "; write it without a decimal point or exponent"
        raise InputError(f"must be a whole number (got {_shown(value)}){hint}", where=where)
    if value < low:
        raise InputError(f"must be ≥ {low} (got {value})", where=where)
    if high is not None and value > high:
        raise InputError(f"must be ≤ {high} (got {value}); that is more than this tool will run", where=where)
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _opt_int(value: Any, where: str, *, low: int) -> int | None:
    return None if value is None else _int(value, where, low=low, high=2**40)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"must be a finite number (got {_shown(value)})", where=where)
    return float(value)


def _opt_positive(value: Any, where: str) -> float | None:
    if value is None:
        return None
    v = _number(value, where)
    if v <= 0:
        raise InputError(f"must be positive (got {value}); leave it out for no limit", where=where)
    if v > 1e8:
        raise InputError(f"{value} seconds is over three years; give a realistic limit", where=where)
    return v


def _inner(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"must be a number of inner folds (≥ 2) or a holdout fraction like 0.2 (got {_shown(value)})", where="inner")
    if isinstance(value, float) and 0 < value < 1:
        return value
    if isinstance(value, int) and 2 <= value <= _MAX_FOLDS:
        return value
    raise InputError(f"must be a number of inner folds (2..{_MAX_FOLDS}) or a holdout fraction in (0, 1) (got {value})", where="inner")


def _learning_curve(value: Any) -> tuple[float, ...]:
    """``true`` (default fractions), ``false``/``[]`` (off) or a sorted list of unique fractions in (0, 1].

    The full training set (1.0) is always part of a curve that is on: it reuses the final refit.
    """
    where = "learning_curve"
    if value is True or value is None:
        return DEFAULT_LEARNING_CURVE
    if value is False:
        return ()
    if not isinstance(value, (list, tuple)):
        raise InputError(f"write a list of training fractions like [0.1, 0.2, 0.4, 0.7, 1.0], or false to turn learning curves off (got {_shown(value)})", where=where)
    if not value:
        return ()
    out: list[float] = []
    for i, v in enumerate(value):
        f = _number(v, f"{where}[{i}]")
        if not 0 < f <= 1:
            raise InputError(f"a fraction of the training rows must be in (0, 1] (got {v})", where=f"{where}[{i}]")
        if out and f <= out[-1]:
            word = "repeats" if f == out[-1] else "is smaller than"
            raise InputError(f"{f:g} {word} the fraction before it; list fractions once each in increasing order", where=f"{where}[{i}]")
        out.append(f)
    if out[-1] != 1.0:
        out.append(1.0)  # free: the final refit on all training rows
    return tuple(out)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"must be true or false (got {_shown(value)})", where=where)
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise InputError(f"must be one of {', '.join(choices)} (got {_shown(value)})", where=where)
    return value


__all__ = ["Suite", "TaskConfig", "load_suite", "parse_suite", "METRICS"]
