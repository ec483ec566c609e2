"""Worker processes kept one per pool, so that one of them can be killed alone."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import sys
from collections.abc import Callable
from multiprocessing.context import BaseContext
from typing import Any

#: A pool of exactly one worker process: one lane.
Lane = concurrent.futures.ProcessPoolExecutor


class WorkerLanes:
    """Up to ``size`` single-worker process pools, each running one call at a time.

    One ``ProcessPoolExecutor`` with many workers breaks as a whole when one worker dies, failing
    every call running in the others. With one pool per worker, a worker running a call that
    went over its time limit can be killed and its lane replaced while the other calls carry
    on. Lanes start on first need. Used from the event loop only.

    Args:
        size: The most worker processes at once.
        mp_context: The multiprocessing context that starts workers.
        initializer: Run in each worker when it starts.
    """

    def __init__(
        self, size: int, mp_context: BaseContext, initializer: Callable[[], None]
    ) -> None:
        self._size = size
        self._mp_context = mp_context
        self._initializer = initializer
        self._live: set[Lane] = set()
        self._idle: list[Lane] = []
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def live(self) -> int:
        """Lanes started and not retired (idle or busy)."""
        return len(self._live)

    def is_live(self, lane: Lane) -> bool:
        """Whether ``lane`` still belongs to this set (it was neither retired nor killed)."""
        return lane in self._live

    async def acquire(self) -> Lane:
        """An idle lane, a new one when fewer than ``size`` are live, or the next one freed.

        Raises:
            RuntimeError: The lanes were closed while waiting.
        """
        while True:
            if self._idle:
                return self._idle.pop()
            if len(self._live) < self._size:
                lane = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=self._mp_context, initializer=self._initializer
                )
                self._live.add(lane)
                return lane
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: hand the turn on
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)

    def release(self, lane: Lane, *, broken: bool) -> None:
        """``lane`` finished its call; a broken one (its worker died) is dropped."""
        if lane not in self._live:
            return  # retired meanwhile (killed, or closed)
        if broken:
            self._live.discard(lane)
            lane.shutdown(wait=False)
        else:
            self._idle.append(lane)
        self._wake_one()

    def kill(self, lane: Lane) -> None:
        """Kill ``lane``'s worker now, mid-call, and free its place for a new lane.

        The call it was running fails with ``BrokenProcessPool``; the pool's own management
        thread then reaps the process.
        """
        self._live.discard(lane)
        with contextlib.suppress(ValueError):
            self._idle.remove(lane)
        _kill_workers(lane)
        self._wake_one()

    def close(self, error: str) -> list[Lane]:
        """Retire every lane and fail the calls waiting for one with ``RuntimeError(error)``.

        Returns the retired lanes, for the caller to shut down.
        """
        lanes = list(self._live)
        self._live.clear()
        self._idle.clear()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError(error))
        return lanes

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _kill_workers(lane: Lane) -> None:
    """Send SIGKILL (or ``TerminateProcess`` on Windows) to the workers of ``lane``."""
    if sys.version_info >= (3, 14):
        lane.kill_workers()
        return
    # Before Python 3.14 no public API stops a busy worker; see _terminate_workers in the
    # process executor for why the private ``_processes`` is read here.
    processes: list[Any] = list((getattr(lane, "_processes", None) or {}).values())
    lane.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ValueError):  # already closed
            process.kill()
