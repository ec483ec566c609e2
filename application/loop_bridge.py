"""Running loop-bound work from whichever thread a task or route happens to be on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


class LoopBridge:
    """Knows the application's event loop and calls functions on it from any thread.

    Sync routes and sync tasks run in worker threads, but event publication, observer delivery
    and dispatch belong to the event loop. Calls made before a loop is known are held and run,
    in order, once :meth:`bind` is called.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` from now on (called from that loop), running held calls."""
        with self._lock:
            self._loop = loop
            held, self._held = self._held, []
        for func, args in held:
            func(*args)

    def unbind(self) -> None:
        with self._lock:
            self._loop = None

    def bind_running(self) -> bool:
        """Bind to the running loop if there is one and none is bound (or it was closed)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._loop is not loop:
            self.bind(loop)
        return True

    def on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def call(self, func: Callable[..., Any], *args: Any) -> None:
        """Call ``func(*args)`` now when on the loop, otherwise schedule it there."""
        with self._lock:
            loop = self._loop
            if loop is None or loop.is_closed():
                self._held.append((func, args))
                return
        if self.on_loop_thread():
            func(*args)
        else:
            loop.call_soon_threadsafe(func, *args)
