"""Rules every storage adapter applies the same way, so they behave identically."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord, TaskSource

#: Statuses of tasks that still have to run or finish.
UNFINISHED_STATUSES = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})


def latest_per_task(records: Iterable[TaskRecord]) -> list[TaskRecord]:
    """One record per task id, the last one given (a batch may carry several transitions)."""
    return list({record.task_id: record for record in records}.values())


def at_rest(record: TaskRecord) -> TaskRecord:
    """The independent copy a store keeps.

    Timestamps are kept in UTC, as a database returns them, and encrypted arguments only as
    their token.
    """
    stored = record.copy()
    stored.created_at = as_utc(stored.created_at)
    stored.start_time = None if stored.start_time is None else as_utc(stored.start_time)
    stored.end_time = None if stored.end_time is None else as_utc(stored.end_time)
    if stored.encrypted_payload is not None:
        stored.args = ()
        stored.kwargs = {}
    return stored


def check_limit(limit: int) -> None:
    """Reject page sizes that cannot make progress."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")


def check_lock_ttl(ttl: float) -> None:
    """Reject lock lifetimes that would expire before they are granted."""
    if ttl <= 0:
        raise ValueError(f"lock ttl must be > 0 seconds, got {ttl!r}")


def stored_source(value: str) -> TaskSource:
    """The task source read back from storage; refuses values no release writes."""
    if value == "scheduled":
        return "scheduled"
    if value == "manual":
        return "manual"
    raise ValueError(f"unknown task source {value!r} in storage")
