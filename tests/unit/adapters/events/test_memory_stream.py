"""In-process change notifications."""

from __future__ import annotations

import pytest

from fastapi_taskflow.adapters.events import MemoryEventStream
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

pytestmark = pytest.mark.asyncio


def change(n: int) -> TaskChange:
    return TaskChange(task_id=f"t{n}", func_name="f", status=TaskStatus.RUNNING)


async def test_subscribers_receive_changes_published_after_subscribing() -> None:
    stream = MemoryEventStream()
    stream.publish(change(0))
    async with stream.subscribe() as first, stream.subscribe() as second:
        stream.publish(change(1))
        assert await anext(first) == change(1)
        assert await anext(second) == change(1)
    assert stream.subscriber_count == 0


async def test_a_slow_subscriber_loses_the_oldest_changes_not_memory() -> None:
    stream = MemoryEventStream(buffer_size=2)
    async with stream.subscribe() as subscriber:
        for n in range(5):
            stream.publish(change(n))
        assert [await anext(subscriber), await anext(subscriber)] == [change(3), change(4)]
