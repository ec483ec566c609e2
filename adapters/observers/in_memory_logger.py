"""An observer that keeps every event in memory, for test assertions."""

from __future__ import annotations

from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.ports.observers import TaskObserver


class InMemoryLogger(TaskObserver):
    """Records every event it receives, in arrival order.

    Example::

        memory = InMemoryLogger()
        task_manager = TaskManager(loggers=[memory])
        ...
        assert [e.message for e in memory.log_events] == ["sending", "sent"]

    Events stay available after :meth:`close`.
    """

    def __init__(self) -> None:
        #: Every ``task_log()`` line and retry separator received.
        self.log_events: list[LogEvent] = []
        #: Every status transition received.
        self.lifecycle_events: list[LifecycleEvent] = []

    async def on_log(self, event: LogEvent) -> None:
        """Keep the log event."""
        self.log_events.append(event)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Keep the lifecycle event."""
        self.lifecycle_events.append(event)

    def clear(self) -> None:
        """Forget every event received so far (the lists are emptied in place)."""
        self.log_events.clear()
        self.lifecycle_events.clear()
