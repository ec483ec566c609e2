"""A clock that only moves when told to, for tests that must not wait."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone


class FakeClock:
    """A controllable clock.

    With ``auto_advance=True`` (the default), ``sleep(n)`` moves time forward by ``n`` at once,
    so a task retried after a 60-second delay finishes in microseconds with timestamps 60
    seconds apart. With ``auto_advance=False``, sleepers wait until :meth:`advance` moves time
    past their deadline.
    """

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = True) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(timezone.utc)
        self._monotonic = 0.0
        self.auto_advance = auto_advance
        # (deadline on the monotonic scale, arrival order, the sleeper's future, its task)
        self._sleepers: list[
            tuple[float, int, asyncio.Future[None], asyncio.Task[object] | None]
        ] = []
        self._order = itertools.count()
        #: Every duration passed to :meth:`sleep`, in call order.
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self.auto_advance:
            self.advance(seconds)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        owner = asyncio.current_task()
        deadline = self._monotonic + seconds
        heapq.heappush(self._sleepers, (deadline, next(self._order), future, owner))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._monotonic += seconds
        self._now += timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)

    def advance_to(self, moment: datetime) -> None:
        """Move time forward to ``moment`` (timezone-aware), waking sleepers that are due.

        Raises:
            ValueError: ``moment`` is naive or earlier than :meth:`now`.
        """
        if moment.tzinfo is None:
            raise ValueError("advance_to() needs a timezone-aware datetime")
        seconds = (moment - self._now).total_seconds()
        if seconds < 0:
            raise ValueError(f"time cannot go backwards (now {self._now.isoformat()})")
        self.advance(seconds)

    @property
    def sleeping(self) -> int:
        """Number of coroutines waiting in :meth:`sleep`."""
        return sum(1 for sleeper in self._sleepers if not sleeper[2].done())

    def wake_times(self) -> dict[asyncio.Task[object] | None, datetime]:
        """When each asyncio task now waiting in :meth:`sleep` is due to wake (``None`` keys
        sleepers outside any task)."""
        found: dict[asyncio.Task[object] | None, datetime] = {}
        for deadline, _, future, owner in sorted(self._sleepers):
            if not future.done() and owner not in found:
                found[owner] = self._now + timedelta(seconds=deadline - self._monotonic)
        return found
