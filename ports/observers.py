"""Receivers of task log lines and lifecycle events."""

from __future__ import annotations

from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent


class TaskObserver:
    """Base class for anything that wants to hear about tasks.

    Subclass it and override what you need; every method is optional. Methods may be plain or
    ``async``. An exception raised here is logged and contained: it never affects other observers
    or the task itself.
    """

    async def on_log(self, event: LogEvent) -> None:
        """A task called ``task_log()``, or a retry began."""

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A task changed status."""

    async def close(self) -> None:
        """The task manager is shutting down: flush and release resources."""
