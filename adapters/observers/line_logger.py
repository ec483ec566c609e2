"""Shared behaviour of observers that turn events into plain-text lines."""

from __future__ import annotations

from fastapi_taskflow.adapters.observers.line_format import (
    format_lifecycle_event,
    format_log_event,
)
from fastapi_taskflow.domain.events import (
    LifecycleEvent,
    LogEvent,
    LogLevel,
    level_at_least,
    parse_level,
)
from fastapi_taskflow.ports.observers import TaskObserver


class LineLogger(TaskObserver):
    """Filters events by level, formats them as lines and hands each line to :meth:`_write_line`.

    Log events below ``min_level`` are dropped. Lifecycle events carry no level: they are written
    whenever ``log_lifecycle`` is true.

    Args:
        log_lifecycle: Also write a line for every status transition.
        min_level: The least severe log level written (``debug``, ``info``, ``warning`` or
            ``error``).

    Raises:
        ValueError: ``min_level`` is not a known level.
    """

    def __init__(self, *, log_lifecycle: bool, min_level: str) -> None:
        self._log_lifecycle = log_lifecycle
        self._min_level = parse_level(min_level)

    @property
    def log_lifecycle(self) -> bool:
        """Whether status transitions are written."""
        return self._log_lifecycle

    @property
    def min_level(self) -> LogLevel:
        """The least severe log level written."""
        return self._min_level

    async def on_log(self, event: LogEvent) -> None:
        """Write the event's line when its level reaches ``min_level``."""
        if level_at_least(event.level, self._min_level):
            self._write_line(format_log_event(event))

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Write the transition's line when ``log_lifecycle`` is set."""
        if self._log_lifecycle:
            self._write_line(format_lifecycle_event(event))

    def _write_line(self, line: str) -> None:
        """Write one line (without its newline). Subclasses decide where."""
        raise NotImplementedError
