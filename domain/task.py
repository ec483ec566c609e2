"""The task record: one enqueued call of a registered function, and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware, require_optional_aware
from fastapi_taskflow.domain.errors import InvalidTransition
from fastapi_taskflow.domain.events import format_log_line
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.transitions import is_allowed

TaskSource = Literal["manual", "scheduled"]

#: Log lines kept per task; older lines are dropped (with a marker) so memory stays bounded.
MAX_LOG_LINES = 1000


@attrs.define(kw_only=True, eq=False)
class TaskRecord:
    """A task and everything known about its execution.

    The status only changes through the transition methods below, which reject moves the
    lifecycle does not allow (for example ``success -> running``) with
    :class:`~fastapi_taskflow.domain.errors.InvalidTransition`.
    """

    task_id: str
    func_name: str
    status: TaskStatus = attrs.field(default=TaskStatus.PENDING)
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    created_at: datetime = attrs.field(validator=require_aware)
    start_time: datetime | None = attrs.field(default=None, validator=require_optional_aware)
    end_time: datetime | None = attrs.field(default=None, validator=require_optional_aware)
    #: Retries started so far (0 while on the first attempt).
    retries_used: int = 0
    error: str | None = None
    stacktrace: str | None = None
    logs: list[str] = attrs.field(factory=list)
    tags: dict[str, str] = attrs.field(factory=dict)
    idempotency_key: str | None = None
    priority: int | None = None
    source: TaskSource = "manual"
    executor: ExecutorKind | None = None
    #: Fernet token holding args and kwargs when argument encryption is on.
    encrypted_payload: bytes | None = None
    #: The process that currently owns this task (set while pending or running).
    instance_id: str | None = None
    #: The queue the task waits in for an execution slot.
    queue: str = "default"
    #: Times the task was started again because the process running it died.
    crash_reruns: int = 0
    #: The finished task this one re-runs (set on tasks created by a retry or replay).
    retried_from: str | None = None
    #: The task that re-ran this one, once an operator retried it.
    retried_as: str | None = None
    #: The request (and trace) that enqueued the task, when known.
    provenance: Provenance | None = None
    #: Seconds each attempt may run before it is stopped as timed out (``None``: no limit).
    timeout: float | None = None

    # -- derived -------------------------------------------------------------------------

    @property
    def attempt(self) -> int:
        """The current (or last) attempt number, starting at 1."""
        return self.retries_used + 1

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the end, once finished."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    # -- transitions ---------------------------------------------------------------------

    def start(self, now: datetime) -> None:
        """The task got an execution slot and its first attempt begins."""
        self._move(TaskStatus.RUNNING)
        self.start_time = now
        self.end_time = None

    def begin_retry(self) -> str:
        """A failed attempt is followed by another one.

        Returns the separator line (``--- Retry N ---``) to log before the new attempt, so the
        logs of each attempt are easy to tell apart.
        """
        if self.status is not TaskStatus.RUNNING:
            raise InvalidTransition(self.task_id, self.status, TaskStatus.RUNNING)
        self.retries_used += 1
        return f"--- Retry {self.retries_used} ---"

    def succeed(self, now: datetime) -> None:
        """The function returned."""
        self._move(TaskStatus.SUCCESS)
        self.end_time = now
        self.error = None
        self.stacktrace = None

    def fail(self, now: datetime, error: str, stacktrace: str | None = None) -> None:
        """Every attempt failed (or the task could not be run at all)."""
        self._move(TaskStatus.FAILED)
        self.end_time = now
        self.error = error
        self.stacktrace = stacktrace

    def cancel(self, now: datetime) -> None:
        """Stopped on request before it finished."""
        self._move(TaskStatus.CANCELLED)
        self.end_time = now

    def interrupt(self, now: datetime) -> None:
        """The process stopped while the task was running."""
        self._move(TaskStatus.INTERRUPTED)
        self.end_time = now

    def reject(self, now: datetime, reason: str) -> None:
        """Refused at enqueue time."""
        self._move(TaskStatus.REJECTED)
        self.end_time = now
        self.error = reason

    def requeue(self, now: datetime) -> None:
        """Waiting to run again from the start (after an interruption)."""
        self._move(TaskStatus.PENDING)
        self.add_log(format_log_line(now, "--- Requeued after interruption ---"))
        self.start_time = None
        self.end_time = None
        self.instance_id = None

    def add_log(self, line: str) -> None:
        """Append a log line, keeping at most :data:`MAX_LOG_LINES`."""
        self.logs.append(line)
        if len(self.logs) > MAX_LOG_LINES:
            dropped = len(self.logs) - MAX_LOG_LINES + 1
            del self.logs[:dropped]
            self.logs[0] = f"... {dropped} earlier lines dropped ..."

    def _move(self, target: TaskStatus) -> None:
        if not is_allowed(self.status, target):
            raise InvalidTransition(self.task_id, self.status, target)
        self.status = target

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self, *, include_args: bool = True) -> dict[str, Any]:
        """The JSON-friendly shape returned by the REST API."""
        return {
            "task_id": self.task_id,
            "func_name": self.func_name,
            "status": self.status.value,
            "args": list(self.args) if include_args else [],
            "kwargs": dict(self.kwargs) if include_args else {},
            "created_at": self.created_at.isoformat(),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration": self.duration,
            "retries_used": self.retries_used,
            "error": self.error,
            "stacktrace": self.stacktrace,
            "logs": list(self.logs),
            "tags": dict(self.tags),
            "idempotency_key": self.idempotency_key,
            "priority": self.priority,
            "source": self.source,
            "executor": self.executor.value if self.executor else None,
            "encrypted": self.encrypted_payload is not None,
            "queue": self.queue,
            "crash_reruns": self.crash_reruns,
            "retried_from": self.retried_from,
            "retried_as": self.retried_as,
            "provenance": self.provenance.to_dict() if self.provenance else None,
            "timeout": self.timeout,
        }

    def copy(self) -> TaskRecord:
        """An independent snapshot (lists and dicts copied), for handing to storage."""
        return attrs.evolve(
            self, logs=list(self.logs), tags=dict(self.tags), kwargs=dict(self.kwargs)
        )
