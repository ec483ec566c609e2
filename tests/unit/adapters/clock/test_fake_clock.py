"""The fake clock used to test waiting code without waiting."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.clock import FakeClock, SystemClock

pytestmark = pytest.mark.asyncio


async def test_auto_advance_moves_time_by_each_sleep() -> None:
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=timezone.utc))
    await clock.sleep(90)
    assert clock.now() == datetime(2026, 5, 1, 0, 1, 30, tzinfo=timezone.utc)
    assert clock.monotonic() == 90
    assert clock.sleeps == [90]


async def test_manual_mode_wakes_sleepers_in_deadline_order() -> None:
    clock = FakeClock(auto_advance=False)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 10)), asyncio.create_task(sleeper("soon", 5))]
    await asyncio.sleep(0)
    assert clock.sleeping == 2
    clock.advance(5)
    await asyncio.sleep(0)
    assert woke == ["soon"]
    clock.advance(5)
    await asyncio.gather(*tasks)
    assert woke == ["soon", "late"]


async def test_time_never_goes_backwards_and_needs_a_zone() -> None:
    with pytest.raises(ValueError):
        FakeClock().advance(-1)
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))


async def test_system_clock_is_utc_aware() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() is not None
    assert now.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_advance_to_moves_to_a_moment_and_refuses_the_past() -> None:
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=timezone.utc), auto_advance=False)
    clock.advance_to(datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc))
    assert clock.monotonic() == 7200
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(datetime(2026, 5, 1, 1, 0, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.advance_to(datetime(2026, 5, 2))


async def test_wake_times_name_each_sleeping_task_and_its_deadline() -> None:
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    clock = FakeClock(start, auto_advance=False)
    first = asyncio.create_task(clock.sleep(30))
    second = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0)
    clock.advance(5)

    assert clock.wake_times() == {
        first: datetime(2026, 5, 1, 0, 0, 30, tzinfo=timezone.utc),
        second: datetime(2026, 5, 1, 0, 0, 10, tzinfo=timezone.utc),
    }
    clock.advance(5)
    await second
    assert list(clock.wake_times()) == [first]
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert clock.wake_times() == {}
