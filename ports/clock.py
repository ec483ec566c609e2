"""Time, as the application sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time, a monotonic counter and sleeping.

    Everything that waits (retry delays, schedules, flush intervals) goes through this port, so a
    fake clock can make an hour of retries happen instantly in tests.
    """

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (returns at once for zero or less)."""
        ...
