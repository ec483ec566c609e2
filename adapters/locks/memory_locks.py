"""Expiring locks held in this process."""

from __future__ import annotations

from fastapi_taskflow.ports.clock import Clock


class MemoryLockManager:
    """Locks for a single process (or for tests); expiry follows the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        if ttl <= 0:
            raise ValueError(f"lock ttl must be > 0 seconds, got {ttl!r}")
        now = self._clock.monotonic()
        holder = self._held.get(key)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._held[key] = (owner, now + ttl)
        return True

    async def release(self, key: str, owner: str) -> bool:
        holder = self._held.get(key)
        if holder is None or holder[0] != owner or holder[1] <= self._clock.monotonic():
            return False
        del self._held[key]
        return True
