"""Task changes shared between instances, so every instance's live views see every change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fastapi_taskflow.ports.event_stream import TaskChange


class ChangeBroadcast(Protocol):
    """Carries task changes to the other instances sharing a store.

    Delivery is best effort: a change lost on the way only delays a live view, which re-reads
    the store anyway. Stores without a notification channel use a broadcast that sends nothing,
    and live views fall back to polling the shared store.
    """

    async def open(self, deliver: Callable[[TaskChange], None]) -> None:
        """Start listening; ``deliver`` is called on the event loop for each change another
        instance sent (never for this instance's own)."""
        ...

    def send(self, change: TaskChange) -> None:
        """Send a change of this instance without waiting. Must not raise."""
        ...

    async def close(self) -> None:
        """Stop listening and release connections."""
        ...
