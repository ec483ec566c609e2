"""Waiting for calls submitted to a ``concurrent.futures`` pool without blocking the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Collection
from typing import Any, TypeVar

T = TypeVar("T")


class InFlightCalls:
    """The futures of calls submitted to a pool that have not finished yet. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: set[concurrent.futures.Future[Any]] = set()

    def add(self, future: concurrent.futures.Future[Any]) -> None:
        """Track ``future`` until it is done."""
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._discard)

    def snapshot(self) -> list[concurrent.futures.Future[Any]]:
        """The calls not finished at this moment."""
        with self._lock:
            return list(self._futures)

    def _discard(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)


async def await_call(future: concurrent.futures.Future[T], *, not_started: str) -> T:
    """Wait for ``future`` and return its result or raise its exception.

    Cancelling the awaiting coroutine stops the wait at once and cancels the call only if it has
    not started; a started call runs to its end on its own. A call cancelled by someone else
    (the pool shutting down before it started) raises ``RuntimeError(not_started)`` rather than
    ``CancelledError``, which the caller would mistake for its own cancellation.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def transfer(done: concurrent.futures.Future[T]) -> None:
        if waiter.done():
            return
        if done.cancelled():
            waiter.set_exception(RuntimeError(not_started))
            return
        error = done.exception()
        if error is None:
            waiter.set_result(done.result())
        else:
            waiter.set_exception(error)

    def on_done(done: concurrent.futures.Future[T]) -> None:
        # A closed loop means nobody awaits this call any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(transfer, done)

    future.add_done_callback(on_done)
    try:
        return await waiter
    except asyncio.CancelledError:
        future.cancel()
        raise


async def wait_until_done(
    futures: Collection[concurrent.futures.Future[Any]], timeout: float
) -> bool:
    """Wait up to ``timeout`` seconds for every future to finish; return whether they all did.

    Neither consumes nor cancels the futures, so no "exception never retrieved" noise follows.
    """
    if not futures:
        return True
    loop = asyncio.get_running_loop()
    all_done: asyncio.Future[None] = loop.create_future()
    lock = threading.Lock()
    remaining = len(futures)

    def resolve() -> None:
        if not all_done.done():
            all_done.set_result(None)

    def on_done(_: concurrent.futures.Future[Any]) -> None:
        nonlocal remaining
        with lock:
            remaining -= 1
            last = remaining == 0
        if last:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve)

    for future in futures:
        future.add_done_callback(on_done)
    done, _ = await asyncio.wait({all_done}, timeout=max(0.0, timeout))
    return bool(done)
