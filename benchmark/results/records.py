"""Facts about the stored job records themselves, read the same way by every reader of a run.

A record is one line of ``records.jsonl`` (see :mod:`benchmark.results.store`).  This module is
plain Python (no pandas), so the worker can use it as cheaply as the report does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

#: The fields that name a job: one (task, candidate, outer fold).
JOB_KEY = ("task", "candidate", "fold")

R = TypeVar("R", bound=Mapping[str, Any])


def job_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The (task, candidate, fold) a record belongs to."""
    return tuple(record.get(k) for k in JOB_KEY)


def job_id(task: str, candidate: str, fold: int) -> str:
    """The stored identity of a job, its record's ``key`` field (resume skips ids already recorded)."""
    return f"{task}\x1f{candidate}\x1f{fold}"


def latest_jobs(records: Iterable[R]) -> list[R]:
    """The latest record of each job (a resumed run may repeat one), in first-seen job order.

    Only ``type == "job"`` records count.  This is the one place that knows which of a job's
    records wins; the result table, the report and its curves all read a run through it.
    """
    seen: dict[tuple[Any, ...], R] = {}
    for r in records:
        if r.get("type") == "job":
            seen[job_key(r)] = r
    return list(seen.values())


def n_fits(trials: Iterable[Mapping[str, Any]]) -> int:
    """Model fits spent on tuning: one per inner split scored, plus the fit that raised in a failed trial."""
    return sum(len(t.get("fold_values") or []) + (t.get("state") != "ok") for t in trials)


def model_fits(record: Mapping[str, Any]) -> int:
    """Model fits a job spent: its ``n_fits`` field, or (records written before it existed)
    the tuning fits counted from its trials plus the final refit of a completed job."""
    if record.get("n_fits") is not None:
        return int(record["n_fits"])
    return n_fits(list(record.get("trials") or [])) + (record.get("state") == "ok")
