"""Execution slots of one queue: a resizable cap, priority order and fairness between keys."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import attrs

from fastapi_taskflow.domain.priority import dispatch_order


@attrs.define(eq=False)
class _Waiter:
    order: tuple[int, int]
    future: asyncio.Future[None]
    tags: Mapping[str, str]

    def __lt__(self, other: _Waiter) -> bool:
        return self.order < other.order


class QueueLimiter:
    """At most ``concurrency`` slots held at once (``None``: no limit); the cap can change live.

    A freed slot goes to a waiting task: with ``fair_by`` unset, to the highest priority,
    first come first served among equals. With ``fair_by`` (a tag name), waiting tasks are
    grouped by their value of that tag and the groups take turns (round-robin); priority
    orders tasks within a group.

    Raising the cap hands slots to waiters at once. Lowering it never stops a running task:
    no new task starts until fewer than the new cap are running. Only the event loop may
    call it.
    """

    def __init__(self, concurrency: int | None = None, fair_by: str | None = None) -> None:
        _check_concurrency(concurrency)
        self._concurrency = concurrency
        self._fair_by = fair_by
        self._held = 0
        self._groups: dict[str | None, list[_Waiter]] = {}
        self._turns: deque[str | None] = deque()
        self._arrivals = itertools.count()
        self._waiting = 0

    @property
    def concurrency(self) -> int | None:
        """The current cap (``None``: no limit)."""
        return self._concurrency

    @property
    def fair_by(self) -> str | None:
        """The tag whose values take turns, or ``None``."""
        return self._fair_by

    @property
    def held(self) -> int:
        """Slots in use (may exceed the cap for a while after it was lowered)."""
        return self._held

    @property
    def waiting(self) -> int:
        """Tasks waiting for a slot."""
        return self._waiting

    def resize(self, concurrency: int | None) -> None:
        """Change the cap; waiters start at once if it grew."""
        _check_concurrency(concurrency)
        self._concurrency = concurrency
        self._hand_out()

    def regroup(self, fair_by: str | None) -> None:
        """Change the fairness tag; tasks already waiting are regrouped, keeping their order."""
        if fair_by == self._fair_by:
            return
        self._fair_by = fair_by
        waiters = [w for group in self._groups.values() for w in group if not w.future.done()]
        self._groups.clear()
        self._turns.clear()
        for waiter in sorted(waiters):
            self._file(waiter)

    @asynccontextmanager
    async def slot(
        self, priority: int | None, tags: Mapping[str, str] | None = None
    ) -> AsyncIterator[None]:
        """Hold a slot for the duration of the ``async with`` block."""
        await self.acquire(priority, tags)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: int | None, tags: Mapping[str, str] | None = None) -> None:
        """Wait for a slot and take it."""
        if not self._waiting and self._has_room():
            self._held += 1
            return
        order = dispatch_order(priority, next(self._arrivals))
        while True:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._file(_Waiter(order, future, tags or {}))
            self._waiting += 1
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    # The slot was handed over just as we were cancelled: pass it on.
                    self.release()
                else:
                    future.cancel()
                    self._waiting -= 1
                raise
            if self._concurrency is None or self._held <= self._concurrency:
                return
            # The cap was lowered between the hand-over and now: starting would exceed it.
            # Give the slot back and wait again, keeping our place in line.
            self._held -= 1

    def release(self) -> None:
        """Give a slot back; the next waiter in turn takes it."""
        self._held -= 1
        self._hand_out()

    def _has_room(self) -> bool:
        return self._concurrency is None or self._held < self._concurrency

    def _file(self, waiter: _Waiter) -> None:
        key = None if self._fair_by is None else waiter.tags.get(self._fair_by)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = []
            self._turns.append(key)
        heapq.heappush(group, waiter)

    def _hand_out(self) -> None:
        while self._turns and self._has_room():
            key = self._turns.popleft()
            group = self._groups[key]
            while group and group[0].future.done():
                heapq.heappop(group)  # cancelled while waiting
            if not group:
                del self._groups[key]
                continue
            heapq.heappop(group).future.set_result(None)
            self._waiting -= 1
            self._held += 1
            if group:
                self._turns.append(key)  # the group waits for its next turn
            else:
                del self._groups[key]


def _check_concurrency(value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"concurrency must be None or an integer >= 1, got {value!r}")
