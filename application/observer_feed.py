"""Delivering events to observers without slowing tasks down."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque

from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.ports.observers import TaskObserver

_log = logging.getLogger("fastapi_taskflow.observers")

Event = LogEvent | LifecycleEvent


class ObserverFeed:
    """An ordered, bounded backlog of events drained into an observer by one coroutine.

    Tasks never wait for observers: emitting only appends to the backlog. If observers fall
    behind by more than ``max_backlog`` events, the oldest are dropped and a warning says how
    many, rather than memory growing without bound.
    """

    def __init__(self, observer: TaskObserver | None, max_backlog: int = 10_000) -> None:
        self.observer = observer
        self._max_backlog = max_backlog
        self._backlog: deque[Event] = deque()
        self._dropped = 0
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin delivering on the running loop."""
        if self.observer is None or (self._consumer is not None and not self._consumer.done()):
            return
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._consumer = asyncio.get_running_loop().create_task(
            self._deliver(), name="taskflow-observers"
        )
        if self._backlog:
            self._idle.clear()
            self._wake.set()

    def emit(self, event: Event) -> None:
        """Queue ``event``. Must be called on the loop thread (or before :meth:`start`)."""
        if self.observer is None:
            return
        if len(self._backlog) >= self._max_backlog:
            self._backlog.popleft()
            self._dropped += 1
        self._backlog.append(event)
        if self._wake is not None and self._idle is not None:
            self._idle.clear()
            self._wake.set()

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every event emitted so far was delivered; False on timeout."""
        if self._idle is None or self._consumer is None:
            return not self._backlog
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then close the observer."""
        if self._consumer is not None:
            if not await self.drain(timeout):
                _log.warning(
                    "observers did not drain %d events before shutdown", len(self._backlog)
                )
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None
        if self.observer is not None:
            await _call(self.observer.close())

    async def _deliver(self) -> None:
        assert self._wake is not None and self._idle is not None and self.observer is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._backlog:
                if self._dropped:
                    _log.warning("observers fell behind; %d events were dropped", self._dropped)
                    self._dropped = 0
                event = self._backlog.popleft()
                try:
                    if isinstance(event, LogEvent):
                        await _call(self.observer.on_log(event))
                    else:
                        await _call(self.observer.on_lifecycle(event))
                except Exception:
                    _log.exception("observer %s failed", type(self.observer).__name__)
            self._idle.set()


async def _call(result: object) -> None:
    # Observers may be written with plain or async methods.
    if inspect.isawaitable(result):
        await result
