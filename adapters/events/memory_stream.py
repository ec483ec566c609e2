"""Change notifications within one process."""

from __future__ import annotations

import asyncio

from fastapi_taskflow.ports.event_stream import TaskChange


class MemoryEventStream:
    """Fans task changes out to subscribers, each with a bounded buffer.

    A subscriber that does not keep up loses its oldest undelivered changes rather than making
    the publisher wait or memory grow; live views re-read state anyway.
    """

    def __init__(self, buffer_size: int = 1000) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be >= 1")
        self._buffer_size = buffer_size
        self._subscribers: set[asyncio.Queue[TaskChange]] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, change: TaskChange) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(change)

    def subscribe(self) -> Subscription:
        """Start receiving changes now (not at the first ``await``); close it when done."""
        return Subscription(self)


class Subscription:
    """One subscriber's view of a :class:`MemoryEventStream`; also an async context manager."""

    def __init__(self, stream: MemoryEventStream) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[TaskChange] = asyncio.Queue(stream._buffer_size)
        stream._subscribers.add(self._queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> TaskChange:
        if self._queue not in self._stream._subscribers and self._queue.empty():
            raise StopAsyncIteration
        return await self._queue.get()

    async def aclose(self) -> None:
        """Stop receiving changes."""
        self._stream._subscribers.discard(self._queue)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
