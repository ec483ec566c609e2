"""Task changes travel to the other instances, and theirs reach this instance's live views."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

from .conftest import Harness

pytestmark = pytest.mark.asyncio


class RecordingBroadcast:
    """A broadcast whose peers are the test: it keeps what was sent and delivers on demand."""

    def __init__(self) -> None:
        self.sent: list[TaskChange] = []
        self.deliver: Callable[[TaskChange], None] | None = None
        self.closed = False

    async def open(self, deliver: Callable[[TaskChange], None]) -> None:
        self.deliver = deliver

    def send(self, change: TaskChange) -> None:
        self.sent.append(change)

    async def close(self) -> None:
        self.closed = True


async def test_status_changes_are_sent_to_other_instances_and_log_lines_are_not() -> None:
    broadcast = RecordingBroadcast()
    harness = Harness(broadcast=broadcast)
    await harness.service.startup()

    def work() -> None:
        from fastapi_taskflow import task_log

        task_log("hello")

    harness.register(work)
    record = await harness.run(work)
    await harness.idle()
    await harness.service.shutdown()

    mine = [change for change in broadcast.sent if change.task_id == record.task_id]
    assert [change.status for change in mine] == [
        TaskStatus.PENDING,
        TaskStatus.RUNNING,
        TaskStatus.SUCCESS,
    ]
    assert broadcast.closed


async def test_changes_from_other_instances_reach_local_subscribers() -> None:
    broadcast = RecordingBroadcast()
    harness = Harness(broadcast=broadcast)
    await harness.service.startup()
    try:
        subscription = harness.service.events.subscribe()
        remote = TaskChange(task_id="elsewhere", func_name="f", status=TaskStatus.SUCCESS)
        assert broadcast.deliver is not None
        broadcast.deliver(remote)
        assert await anext(aiter(subscription)) == remote
        await subscription.aclose()  # type: ignore[attr-defined]
    finally:
        await harness.service.shutdown()
