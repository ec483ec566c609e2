"""Tracing attempts through the tracer port, where a failing tracer never touches a task."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.domain.limits import MAX_NAME_LENGTH
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.tracing import AttemptOutcome, AttemptSpan, TaskTracer

# Tracers are observers: their failures are logged on the observers' logger and go no further.
_log = logging.getLogger("fastapi_taskflow.observers")


class AttemptTracing:
    """The runner's and the enqueuer's view of the (optional) tracer.

    Without a tracer every method is a cheap no-op. With one, each call is guarded: an
    exception raised by the tracer is logged and swallowed, so tracing can lose a span but
    never fail, delay or change a task.
    """

    def __init__(self, tracer: TaskTracer | None = None) -> None:
        self.tracer = tracer

    def trace_parent(self) -> str | None:
        """The ``traceparent`` of the span current in the calling code, if any."""
        if self.tracer is None:
            return None
        try:
            value = self.tracer.current_trace_parent()
        except Exception:
            _log.exception("tracer %s failed to read the current span", _name(self.tracer))
            return None
        if value is None or (isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH):
            return value
        # Stored with the task, so it must fit the store; a broken tracer must not make
        # add_task() fail.
        _log.warning("tracer %s returned an unusable trace parent %r", _name(self.tracer), value)
        return None

    def open(
        self, record: TaskRecord, context: contextvars.Context | None
    ) -> tuple[contextvars.Context | None, AttemptSpan | None]:
        """Start the span of ``record``'s current attempt.

        Returns the context the attempt must run in (a fresh copy of ``context``, or of the
        current one when ``None``, in which the span is current) and the span. Without a
        tracer, or when it fails, ``context`` comes back untouched with no span.
        """
        if self.tracer is None:
            return context, None
        attempt_context = (context if context is not None else contextvars.copy_context()).copy()
        try:
            span = self.tracer.start_attempt(record, attempt_context)
        except Exception:
            _log.exception("tracer %s failed to start a span", _name(self.tracer))
            return context, None
        return attempt_context, GuardedSpan(span, _name(self.tracer))


class GuardedSpan:
    """An :class:`AttemptSpan` whose failures are logged instead of raised."""

    def __init__(self, span: AttemptSpan, tracer_name: str) -> None:
        self._span = span
        self._tracer_name = tracer_name

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        try:
            self._span.log(level, message, extra, timestamp)
        except Exception:
            _log.exception("tracer %s failed to record a log line", self._tracer_name)

    def end(self, outcome: AttemptOutcome, error: BaseException | None = None) -> None:
        try:
            self._span.end(outcome, error)
        except Exception:
            _log.exception("tracer %s failed to end a span", self._tracer_name)


def _name(tracer: object) -> str:
    return type(tracer).__name__
