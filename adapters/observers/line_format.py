"""The plain-text lines written by the file and stdout observers, one event per line."""

from __future__ import annotations

from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent, format_log_line


def format_log_event(event: LogEvent) -> str:
    """``[task_id] [func_name] 2026-01-01T12:00:00.000+00:00 [WARNING] message key='value'``.

    The level appears only when it is not ``info``; extra fields follow the message.
    """
    return f"[{event.task_id}] [{event.func_name}] {event.format_line()}"


def format_lifecycle_event(event: LifecycleEvent) -> str:
    """``[task_id] [func_name] 2026-01-01T12:00:00.000+00:00 -- FAILED (attempt 2) error='boom'``.

    The attempt is shown from the first retry on, the error when there is one and the duration
    (``duration=1.23s``) for statuses that carry it. The error is written with ``repr`` so a
    multi-line message still takes a single line.
    """
    details = ""
    if event.attempt > 1:
        details += f" (attempt {event.attempt})"
    if event.error is not None:
        details += f" error={event.error!r}"
    if event.duration is not None:
        details += f" duration={event.duration:.2f}s"
    status = event.status.value.upper()
    return f"[{event.task_id}] [{event.func_name}] " + format_log_line(
        event.timestamp, f"-- {status}{details}"
    )
