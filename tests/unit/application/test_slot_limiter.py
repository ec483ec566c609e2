"""The execution-slot limiter."""

from __future__ import annotations

import asyncio

import pytest

from fastapi_taskflow.application.slot_limiter import SlotLimiter

pytestmark = pytest.mark.asyncio


async def test_unlimited_never_waits() -> None:
    limiter = SlotLimiter(None)
    for _ in range(100):
        await limiter.acquire(None)
    assert limiter.held == 100


async def test_a_cancelled_waiter_does_not_block_the_next_one() -> None:
    limiter = SlotLimiter(1)
    await limiter.acquire(None)
    doomed = asyncio.create_task(limiter.acquire(5))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    assert limiter.waiting == 0
    limiter.release()
    await asyncio.wait_for(limiter.acquire(None), 1)  # the free slot is taken at once
    assert limiter.held == 1


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_moves_on() -> None:
    limiter = SlotLimiter(1)
    await limiter.acquire(None)
    first = asyncio.create_task(limiter.acquire(10))
    second = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)
    limiter.release()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it resumes
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    assert limiter.held == 1


@pytest.mark.parametrize("capacity", [0, -1, True])
async def test_capacity_must_be_positive(capacity: int) -> None:
    with pytest.raises(ValueError, match="max_concurrent_tasks"):
        SlotLimiter(capacity)
