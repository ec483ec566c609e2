"""Expiring locks in one process."""

from __future__ import annotations

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.locks import MemoryLockManager

pytestmark = pytest.mark.asyncio


async def test_one_holder_at_a_time_until_release_or_expiry() -> None:
    clock = FakeClock()
    locks = MemoryLockManager(clock)
    assert await locks.acquire("retention", "a", ttl=10)
    assert not await locks.acquire("retention", "b", ttl=10)
    assert await locks.acquire("retention", "a", ttl=10)  # the holder may extend
    assert not await locks.release("retention", "b")
    clock.advance(11)
    assert await locks.acquire("retention", "b", ttl=10)
    assert not await locks.release("retention", "a")
    assert await locks.release("retention", "b")


async def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        await MemoryLockManager(FakeClock()).acquire("k", "a", ttl=0)
