"""Fans task events out to every observer, keeping one observer's failure from reaching others."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence

from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.ports.observers import TaskObserver

_log = logging.getLogger("fastapi_taskflow.observers")


class LoggerChain(TaskObserver):
    """An observer that forwards every event to a fixed list of observers.

    Each event is delivered to all observers concurrently and the call returns once every one of
    them has finished with it, so a slow observer delays the caller but not the other observers.
    Deliveries start in the order events are published, for every observer: calls to an
    observer begin in publication order even when several events are published at once. (An
    ``async`` observer that suspends may still be running an earlier event when the next one
    arrives; it should guard its own state if that matters.)

    Observer methods may be plain or ``async``. An exception raised by one of them is logged on
    the ``fastapi_taskflow.observers`` logger with the observer's class name and swallowed: it
    never reaches the caller or the other observers.

    Args:
        observers: The observers to notify, in the order given.
    """

    def __init__(self, observers: Sequence[TaskObserver]) -> None:
        self._observers = tuple(observers)

    @property
    def observers(self) -> tuple[TaskObserver, ...]:
        """The observers notified, in order."""
        return self._observers

    async def on_log(self, event: LogEvent) -> None:
        """Deliver a log event to every observer."""
        await self._publish("on_log", event)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Deliver a lifecycle event to every observer."""
        await self._publish("on_lifecycle", event)

    async def close(self) -> None:
        """Close every observer; one failing to close does not stop the others from closing."""
        await self._publish("close")

    async def _publish(self, method: str, *args: object) -> None:
        deliveries = [_deliver(observer, method, args) for observer in self._observers]
        if len(deliveries) == 1:
            # Nothing to overlap with: skip the cost of a task.
            await deliveries[0]
        elif deliveries:
            # gather() schedules one task per observer in list order and the loop starts tasks
            # first in, first out, so every observer is entered in publication order.
            await asyncio.gather(*deliveries)

    def __repr__(self) -> str:
        return f"LoggerChain({list(self._observers)!r})"


async def _deliver(observer: TaskObserver, method: str, args: tuple[object, ...]) -> None:
    try:
        result = getattr(observer, method)(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        _log.exception("observer %s raised in %s()", type(observer).__name__, method)
