"""The OpenTelemetry span of one task attempt: log lines as events, the outcome at the end."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.ports.tracing import AttemptOutcome

#: Outcomes that mark the span as an error, and the status description used when no
#: exception says more.
_ERROR_OUTCOMES = {
    AttemptOutcome.RETRYING: "the attempt failed; the task will be retried",
    AttemptOutcome.FAILED: "the attempt failed; no retry is left",
    AttemptOutcome.INTERRUPTED: "interrupted: the process stopped while the attempt was running",
}


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OpenTelemetrySpan:
    """Wraps the SDK span of an attempt; every method is safe to call from any thread.

    Log lines written after the span ended (a thread task that keeps running after it was
    cancelled) are dropped rather than added to a finished span.
    """

    def __init__(self, span: Span) -> None:
        self._span = span
        self._lock = threading.Lock()
        self._ended = False

    @property
    def span(self) -> Span:
        """The underlying OpenTelemetry span."""
        return self._span

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        """Add the line as a span event named after the message."""
        attributes: dict[str, AttributeValue] = {"taskflow.log.level": level}
        for key, value in extra.items():
            attributes[f"taskflow.log.{key}"] = attribute_value(value)
        # Process tasks replay their lines when the call returns: keep when they were written.
        stamp = None if timestamp is None else _nanoseconds(timestamp)
        with self._lock:
            if not self._ended:
                self._span.add_event(message, attributes=attributes, timestamp=stamp)

    def end(self, outcome: AttemptOutcome, error: BaseException | None = None) -> None:
        """Set ``taskflow.status`` and the span status, record ``error``, and end the span."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        span = self._span
        span.set_attribute("taskflow.status", outcome.value)
        if error is not None:
            span.record_exception(error)
            span.set_attribute("error.type", _qualified_name(type(error)))
        description = _ERROR_OUTCOMES.get(outcome)
        if description is not None:
            if error is not None:
                description = f"{type(error).__name__}: {error}" if str(error) else description
            span.set_status(Status(StatusCode.ERROR, description))
        span.end()


def attribute_value(value: Any) -> AttributeValue:
    """``value`` as an OpenTelemetry attribute: kept when it is one, else its ``repr``."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        kinds = {type(item) for item in value}
        if len(kinds) == 1 and kinds <= {str, bool, int, float}:
            return list(value)
    return repr(value)


def _nanoseconds(moment: datetime) -> int:
    # Integer arithmetic: a float of the epoch seconds would lose the last microseconds.
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _qualified_name(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
