"""InMemoryLogger keeps events for test assertions."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi_taskflow.adapters.observers import InMemoryLogger
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.domain.status import TaskStatus

NOON = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


async def test_captures_log_and_lifecycle_events_in_order() -> None:
    memory = InMemoryLogger()
    running = LifecycleEvent(
        task_id="t1", func_name="report", status=TaskStatus.RUNNING, timestamp=NOON
    )
    first = LogEvent(task_id="t1", func_name="report", message="one", timestamp=NOON)
    second = LogEvent(
        task_id="t1", func_name="report", message="two", level="debug", timestamp=NOON
    )

    await memory.on_lifecycle(running)
    await memory.on_log(first)
    await memory.on_log(second)
    await memory.close()

    assert memory.log_events == [first, second]
    assert memory.lifecycle_events == [running]


async def test_clear_empties_both_lists_in_place() -> None:
    memory = InMemoryLogger()
    log_events, lifecycle_events = memory.log_events, memory.lifecycle_events
    await memory.on_log(LogEvent(task_id="t1", func_name="f", message="m", timestamp=NOON))
    await memory.on_lifecycle(
        LifecycleEvent(task_id="t1", func_name="f", status=TaskStatus.SUCCESS, timestamp=NOON)
    )

    memory.clear()

    assert memory.log_events == [] and memory.lifecycle_events == []
    assert memory.log_events is log_events and memory.lifecycle_events is lifecycle_events
