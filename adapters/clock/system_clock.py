"""The real clock."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone


class SystemClock:
    """Wall-clock time in UTC, ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
