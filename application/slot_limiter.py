"""A concurrency cap whose waiters are served by priority, then arrival."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi_taskflow.domain.priority import dispatch_order


class SlotLimiter:
    """Execution slots for tasks: at most ``capacity`` held at once (``None``: no limit).

    When a slot frees up it goes to the waiting task with the highest priority, first come first
    served among equals. A task only becomes ``running`` once it holds a slot.
    """

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and (isinstance(capacity, bool) or capacity < 1):
            raise ValueError(f"max_concurrent_tasks must be None or >= 1, got {capacity!r}")
        self.capacity = capacity
        self._held = 0
        self._waiters: list[tuple[tuple[int, int], asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._active_waiters = 0

    @property
    def held(self) -> int:
        """Slots in use."""
        return self._held

    @property
    def waiting(self) -> int:
        """Tasks waiting for a slot."""
        return self._active_waiters

    @asynccontextmanager
    async def slot(self, priority: int | None) -> AsyncIterator[None]:
        """Hold a slot for the duration of the ``async with`` block."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: int | None) -> None:
        if self.capacity is None or (self._held < self.capacity and not self._active_waiters):
            self._held += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (dispatch_order(priority, next(self._arrivals)), future))
        self._active_waiters += 1
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # The slot was handed over just as we were cancelled: pass it on.
                self.release()
            else:
                future.cancel()
                self._active_waiters -= 1
            raise

    def release(self) -> None:
        while self._waiters:
            _, future = heapq.heappop(self._waiters)
            if not future.done():
                self._active_waiters -= 1
                future.set_result(None)  # the slot moves straight to the next waiter
                return
        self._held -= 1
