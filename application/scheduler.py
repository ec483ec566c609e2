"""The scheduler loop: sleeps until something is due, fires it, and sleeps again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from fastapi_taskflow.application.one_off_schedules import OneOffSchedules
from fastapi_taskflow.application.periodic_schedules import PeriodicSchedules
from fastapi_taskflow.ports.clock import Clock

_log = logging.getLogger("fastapi_taskflow.scheduler")

#: Longest single sleep, in seconds, so a wall-clock step (NTP, a resumed VM) is noticed soon.
MAX_SLEEP = 30.0
#: Seconds claims under way at shutdown may take to finish before they are cancelled.
STOP_GRACE = 5.0
#: Pause after a tick failed unexpectedly, so a persistent error cannot spin the loop.
ERROR_PAUSE = 1.0


class Scheduler:
    """Runs periodic entries and one-off runs of this process on the :class:`Clock`.

    :meth:`tick` does one round of work and says when the next is due; the loop around it
    only sleeps. Tests drive :meth:`tick` with a fake clock and never wait.
    """

    def __init__(
        self, *, periodic: PeriodicSchedules, one_offs: OneOffSchedules, clock: Clock
    ) -> None:
        self.periodic = periodic
        self.one_offs = one_offs
        self._clock = clock
        self._loop_task: asyncio.Task[None] | None = None
        self._claims: set[asyncio.Task[bool]] = set()
        self._wakeup: asyncio.Event | None = None
        self._starting: asyncio.Lock | None = None

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        """Catch up, arm what is due soon and start the loop; nothing happens when running."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self.running:
                return
            now = self._clock.now()
            await self.periodic.start(now)
            await self.one_offs.start(now)
            self._wakeup = asyncio.Event()
            self._loop_task = asyncio.get_running_loop().create_task(
                self._run(), name="taskflow-scheduler"
            )

    async def stop(self) -> None:
        """Stop the loop; claims under way get :data:`STOP_GRACE` seconds to finish."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._claims:
            _, late = await asyncio.wait(set(self._claims), timeout=STOP_GRACE)
            for claim in late:
                claim.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.periodic.stop()
        self.one_offs.stop()
        self._starting = None

    def wake(self) -> None:
        """Look again now (a run was armed or an entry added)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def tick(self) -> datetime | None:
        """Start a claim for everything due now; returns when the next round is due.

        Claims run on their own, so one that waits on storage never delays the next round.
        """
        if self._wakeup is not None:
            self._wakeup.clear()
        now = self._clock.now()
        for run in await self.one_offs.due(now):
            self._spawn(self.one_offs.claim(run, now))
        for entry, slot, record in self.periodic.due(now):
            self._spawn(self.periodic.claim(entry, slot, record, now))
        wakes = [w for w in (self.periodic.next_wake(), self.one_offs.next_wake()) if w]
        return min(wakes, default=None)

    async def settle(self) -> None:
        """Wait for the claims under way."""
        while self._claims:
            await asyncio.wait(set(self._claims))

    def _spawn(self, claim: Coroutine[Any, Any, bool]) -> None:
        task = asyncio.get_running_loop().create_task(claim)
        self._claims.add(task)
        task.add_done_callback(self._claims.discard)

    async def _run(self) -> None:
        while True:
            try:
                wake_at = await self.tick()
            except Exception:
                _log.exception("the scheduler failed a round; continuing")
                await self._clock.sleep(ERROR_PAUSE)
                continue
            delay = MAX_SLEEP
            if wake_at is not None:
                delay = min(MAX_SLEEP, (wake_at - self._clock.now()).total_seconds())
            if delay > 0:
                await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        assert self._wakeup is not None
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()
