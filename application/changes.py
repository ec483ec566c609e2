"""The single path every task change takes: memory, storage, live views and observers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi_taskflow.application.loop_bridge import LoopBridge
from fastapi_taskflow.application.observer_feed import ObserverFeed
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent, LogLevel
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.change_broadcast import ChangeBroadcast
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.event_stream import EventStream, TaskChange


class ChangeRecorder:
    """Records task changes: the working set and the write-behind buffer are updated at once
    (from any thread); live-view and observer notifications are delivered on the event loop."""

    def __init__(
        self,
        *,
        store: TaskStore,
        writer: WriteBehind,
        events: EventStream,
        feed: ObserverFeed,
        bridge: LoopBridge,
        clock: Clock,
        broadcast: ChangeBroadcast,
    ) -> None:
        self.store = store
        self.writer = writer
        self._events = events
        self._broadcast = broadcast
        self._feed = feed
        self._bridge = bridge
        self._clock = clock

    def created(self, record: TaskRecord) -> None:
        """A new task was accepted."""
        self.store.add(record)
        self.changed(record)

    def changed(self, record: TaskRecord, *, error: str | None = None) -> None:
        """``record`` moved to a new status (``error``: why an attempt failed, if it did)."""
        self.store.settle(record)
        self.writer.put(record)
        event = LifecycleEvent(
            task_id=record.task_id,
            func_name=record.func_name,
            status=record.status,
            timestamp=self._clock.now(),
            attempt=record.attempt,
            tags=dict(record.tags),
            duration=record.duration,
            error=error if error is not None else record.error,
            queue=record.queue,
        )
        self._bridge.call(self._notify, record, event)

    def annotated(self, record: TaskRecord) -> None:
        """A finished task gained information without changing status (a retry link): it is
        stored and live views hear of it, but observers are not told of its end again."""
        self.store.refresh(record)
        self.writer.put(record)
        self._bridge.call(self._publish, record)

    def logged(
        self,
        record: TaskRecord,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        """The task wrote a log line (or a retry began)."""
        event = LogEvent(
            task_id=record.task_id,
            func_name=record.func_name,
            message=message,
            level=level,
            timestamp=timestamp or self._clock.now(),
            attempt=record.attempt,
            tags=dict(record.tags),
            extra=dict(extra),
        )
        record.add_log(event.format_line())
        self.writer.put(record)
        self._bridge.call(self._notify, record, event)

    def _notify(self, record: TaskRecord, event: LogEvent | LifecycleEvent) -> None:
        self._feed.emit(event)
        if isinstance(event, LifecycleEvent):
            self._publish(record)
        else:
            # Other instances need status changes only; they re-read a task for its logs.
            self._events.publish(_change_of(record))

    def _publish(self, record: TaskRecord) -> None:
        change = _change_of(record)
        self._events.publish(change)
        self._broadcast.send(change)


def _change_of(record: TaskRecord) -> TaskChange:
    return TaskChange(task_id=record.task_id, func_name=record.func_name, status=record.status)
