"""The activity cache counts again only the intervals that can still change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.application.activity_cache import REFRESH_EVERY, ActivityCache
from fastapi_taskflow.domain.activity import Activity, ActivityWindow, trailing_window
from fastapi_taskflow.domain.status import TaskStatus

MINUTE = timedelta(minutes=1)


class CountingStore:
    """Ends of finished tasks, counted like a store would, recording each window asked."""

    def __init__(self) -> None:
        self.ends: list[datetime] = []
        self.asked: list[ActivityWindow] = []

    async def activity(self, window: ActivityWindow, func_name: str | None) -> Activity:
        self.asked.append(window)
        buckets: list[dict[TaskStatus, int]] = [{} for _ in range(window.count)]
        for end in self.ends:
            index = window.index_of(end)
            if index is not None:
                buckets[index][TaskStatus.SUCCESS] = buckets[index].get(TaskStatus.SUCCESS, 0) + 1
        return Activity(window=window, buckets=tuple(buckets))


def totals(activity: Activity) -> list[int]:
    return [sum(bucket.values()) for bucket in activity.buckets]


@pytest.fixture
def clock() -> FakeClock:
    fake = FakeClock(datetime(2026, 5, 1, 12, 0, 30, tzinfo=timezone.utc))
    fake.auto_advance = False
    return fake


async def test_refreshes_count_only_the_newest_intervals(clock: FakeClock) -> None:
    store = CountingStore()
    cache = ActivityCache(store.activity, clock)
    store.ends = [clock.now() - MINUTE * n for n in range(10)]
    window = trailing_window(clock.now(), MINUTE * 10, 10)

    first = await cache.activity(window)
    clock.advance(10)
    store.ends.append(clock.now())
    second = await cache.activity(window)

    assert store.asked[0] == window
    assert store.asked[1].count == 2 and store.asked[1].end == window.end
    assert totals(second) == [*totals(first)[:-1], totals(first)[-1] + 1]
    assert totals(second) == totals(await store.activity(window, None))


async def test_a_sliding_window_keeps_reusing_settled_intervals(clock: FakeClock) -> None:
    store = CountingStore()
    cache = ActivityCache(store.activity, clock)
    for _ in range(5):
        window = trailing_window(clock.now(), MINUTE * 10, 10)
        store.ends.append(clock.now())
        answer = await cache.activity(window)
        assert totals(answer) == totals(await store.activity(window, None))
        clock.advance(60)
    # Only the first call counted the whole window.
    assert [asked.count for asked in store.asked[::2]] == [10, 2, 2, 2, 2]


async def test_an_interval_counted_before_it_ended_is_counted_again(clock: FakeClock) -> None:
    store = CountingStore()
    cache = ActivityCache(store.activity, clock)
    window = trailing_window(clock.now(), MINUTE * 10, 10)
    await cache.activity(window)
    # Nobody looked for five minutes: the interval that was current then kept filling.
    store.ends.append(clock.now() + timedelta(seconds=20))
    clock.advance(300)
    later = trailing_window(clock.now(), MINUTE * 10, 10)

    answer = await cache.activity(later)

    assert store.asked[-1] == later
    assert totals(answer) == totals(await store.activity(later, None))


async def test_everything_is_counted_again_now_and_then(clock: FakeClock) -> None:
    store = CountingStore()
    cache = ActivityCache(store.activity, clock)
    window = ActivityWindow(start=clock.now() - MINUTE * 20, bucket=MINUTE, count=10)
    await cache.activity(window)
    clock.advance(10)
    await cache.activity(window)
    # History deleted meanwhile: the next full count shows it.
    store.ends.clear()
    clock.advance(REFRESH_EVERY)

    answer = await cache.activity(window)

    assert [asked.count for asked in store.asked] == [10, 2, 10]
    assert totals(answer) == [0] * 10


async def test_functions_are_cached_apart(clock: FakeClock) -> None:
    store = CountingStore()
    cache = ActivityCache(store.activity, clock)
    window = trailing_window(clock.now(), MINUTE * 10, 10)
    await cache.activity(window, "a")
    await cache.activity(window, "b")
    assert [asked.count for asked in store.asked] == [10, 10]
