"""Mutual exclusion with an expiry, for duties only one instance should perform."""

from __future__ import annotations

from typing import Protocol


class LockManager(Protocol):
    """Named locks that expire on their own, so a crashed holder never blocks others forever."""

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds. True when ``owner`` now holds it.

        Re-acquiring a lock one already holds extends it.
        """
        ...

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` up. False when ``owner`` did not hold it (it may have expired)."""
        ...
