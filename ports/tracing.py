"""Tracing task attempts: a span around each attempt, current while the task's code runs."""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.domain.task import TaskRecord


class AttemptOutcome(enum.Enum):
    """How one attempt of a task ended."""

    #: The function returned.
    SUCCESS = "success"
    #: The function raised and another attempt follows.
    RETRYING = "retrying"
    #: The function raised and no attempt is left: the task failed.
    FAILED = "failed"
    #: Stopped on request (``cancel``).
    CANCELLED = "cancelled"
    #: Stopped because the process shut down while the attempt was running.
    INTERRUPTED = "interrupted"


class AttemptSpan(Protocol):
    """The trace of one attempt, open from just before the call until :meth:`end`."""

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        """The task wrote a log line during the attempt. Called from any thread."""
        ...

    def end(self, outcome: AttemptOutcome, error: BaseException | None = None) -> None:
        """The attempt is over; ``error`` is what the function raised, if it raised."""
        ...


@runtime_checkable
class TaskTracer(Protocol):
    """Something that traces task attempts (OpenTelemetry, for one).

    An observer passed in ``loggers`` that also implements this protocol becomes the task
    manager's tracer.
    """

    def current_trace_parent(self) -> str | None:
        """The W3C ``traceparent`` of the span current in the calling code, if there is one.

        Called when a task is enqueued; the value is stored with the task (its provenance)
        so every attempt, even one run after a restart, can refer back to it.
        """
        ...

    def start_attempt(self, record: TaskRecord, context: contextvars.Context) -> AttemptSpan:
        """Open the span of ``record``'s current attempt and make it current in ``context``.

        ``context`` is a private copy the attempt's function will run in (a copy of it, for
        async and thread tasks), so spans created by the task's code become children of the
        attempt span. The tracer may change ``context`` freely: nothing else uses it.
        """
        ...
