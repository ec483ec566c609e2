"""The broadcast of a store that only one process uses."""

from __future__ import annotations

from collections.abc import Callable

from fastapi_taskflow.ports.event_stream import TaskChange


class LocalBroadcast:
    """A :class:`~fastapi_taskflow.ports.change_broadcast.ChangeBroadcast` with no peers: it
    sends nothing and receives nothing (memory and SQLite stores; live views poll)."""

    async def open(self, deliver: Callable[[TaskChange], None]) -> None:
        """Nothing to listen to."""

    def send(self, change: TaskChange) -> None:
        """Nobody to tell."""

    async def close(self) -> None:
        """Nothing to release."""
