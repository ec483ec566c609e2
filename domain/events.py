"""What observers receive: log lines written by tasks and lifecycle transitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware
from fastapi_taskflow.domain.status import TaskStatus

LogLevel = Literal["debug", "info", "warning", "error"]

#: Ordered from least to most severe; used for ``min_level`` filtering.
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")


def parse_level(level: str) -> LogLevel:
    """Normalise a level name, rejecting unknown ones."""
    lowered = level.lower()
    for known in LOG_LEVELS:
        if known == lowered:
            return known
    raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LOG_LEVELS)}")


def level_at_least(level: LogLevel, minimum: LogLevel) -> bool:
    """Whether ``level`` is as severe as ``minimum`` or more."""
    return LOG_LEVELS.index(level) >= LOG_LEVELS.index(minimum)


@attrs.frozen(kw_only=True)
class LogEvent:
    """One ``task_log()`` call (or a retry separator) from inside a running task."""

    task_id: str
    func_name: str
    message: str
    level: LogLevel = "info"
    timestamp: datetime = attrs.field(validator=require_aware)
    #: 1 for the first attempt, 2 for the first retry, and so on.
    attempt: int = 1
    tags: Mapping[str, str] = attrs.field(factory=dict)
    #: Structured fields passed as keyword arguments to ``task_log()``.
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def format_line(self) -> str:
        """The line stored on the task record and shown in the dashboard."""
        return format_log_line(self.timestamp, self.message, self.level, self.extra)


@attrs.frozen(kw_only=True)
class LifecycleEvent:
    """A task changed status."""

    task_id: str
    func_name: str
    status: TaskStatus
    timestamp: datetime = attrs.field(validator=require_aware)
    attempt: int = 1
    tags: Mapping[str, str] = attrs.field(factory=dict)
    #: Seconds between the start of the first attempt and the end, for terminal statuses.
    duration: float | None = None
    #: The error message, for ``failed`` (and for a failed attempt that will be retried).
    error: str | None = None
    #: The queue the task waits in for an execution slot.
    queue: str = "default"


def format_log_line(
    timestamp: datetime,
    message: str,
    level: LogLevel = "info",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """``2026-01-01T12:00:00.000+00:00 message``, with the level and extra fields when present."""
    stamp = timestamp.isoformat(timespec="milliseconds")
    prefix = f"{stamp} " if level == "info" else f"{stamp} [{level.upper()}] "
    suffix = "".join(f" {key}={value!r}" for key, value in (extra or {}).items())
    return f"{prefix}{message}{suffix}"
