"""Contract: stores count finished tasks per time bucket and status, and bin durations, for
the dashboard's charts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.activity import DURATION_EDGES, ActivityWindow, duration_bin
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def finished(
    task_id: str, end: timedelta, status: TaskStatus, *, took: float = 1.0, func: str = "f"
) -> TaskRecord:
    ended_at = T0 + end
    record = TaskRecord(task_id=task_id, func_name=func, created_at=ended_at - timedelta(hours=1))
    record.start(ended_at - timedelta(seconds=took))
    if status is TaskStatus.SUCCESS:
        record.succeed(ended_at)
    elif status is TaskStatus.FAILED:
        record.fail(ended_at, "boom")
    else:
        record.cancel(ended_at)
    return record


async def test_finished_tasks_are_counted_by_bucket_and_status(storage: TaskStorage) -> None:
    minute = timedelta(minutes=1)
    await storage.save(
        [
            finished("before", -minute, TaskStatus.SUCCESS),
            finished("a", timedelta(0), TaskStatus.SUCCESS),  # the first instant is inside
            finished("b", minute * 0.5, TaskStatus.FAILED),
            finished("c", minute * 2, TaskStatus.SUCCESS),
            finished("d", minute * 2.999, TaskStatus.CANCELLED, func="g"),
            finished("after", minute * 3, TaskStatus.SUCCESS),  # the end is outside
            TaskRecord(task_id="pending", func_name="f", created_at=T0),
        ]
    )
    window = ActivityWindow(start=T0, bucket=minute, count=3)

    activity = await storage.activity(window)

    assert activity.window == window
    assert activity.buckets == (
        {TaskStatus.SUCCESS: 1, TaskStatus.FAILED: 1},
        {},
        {TaskStatus.SUCCESS: 1, TaskStatus.CANCELLED: 1},
    )
    only_g = await storage.activity(window, func_name="g")
    assert only_g.buckets == ({}, {}, {TaskStatus.CANCELLED: 1})


async def test_many_tasks_ending_at_one_instant_are_all_counted(storage: TaskStorage) -> None:
    # More than one chunk of the Redis walk, all with the same end time.
    same = [finished(f"t{n:04d}", timedelta(seconds=30), TaskStatus.SUCCESS) for n in range(2500)]
    later = [finished(f"u{n:04d}", timedelta(seconds=90), TaskStatus.FAILED) for n in range(10)]
    await storage.save(same + later)

    activity = await storage.activity(
        ActivityWindow(start=T0, bucket=timedelta(minutes=1), count=2)
    )

    assert activity.buckets == ({TaskStatus.SUCCESS: 2500}, {TaskStatus.FAILED: 10})


async def test_tasks_next_to_a_boundary_land_on_its_side(storage: TaskStorage) -> None:
    tick = timedelta(microseconds=1)
    minute = timedelta(minutes=1)
    await storage.save(
        [
            finished("last-of-first", minute - tick, TaskStatus.SUCCESS),
            finished("first-of-second", minute, TaskStatus.FAILED),
            finished("last-of-window", minute * 2 - tick, TaskStatus.CANCELLED),
            finished("start", timedelta(0), TaskStatus.SUCCESS),
        ]
    )

    activity = await storage.activity(ActivityWindow(start=T0, bucket=minute, count=2))

    assert activity.buckets == (
        {TaskStatus.SUCCESS: 2},
        {TaskStatus.FAILED: 1, TaskStatus.CANCELLED: 1},
    )


async def test_durations_fall_into_their_bins(storage: TaskStorage) -> None:
    took = [0.0005, 0.001, 0.003, 0.7, 0.7, 45.0, 7200.0]
    await storage.save(
        [
            finished(f"t{n}", timedelta(minutes=n), TaskStatus.SUCCESS, took=seconds)
            for n, seconds in enumerate(took)
        ]
        + [finished("other", timedelta(0), TaskStatus.FAILED, took=0.7, func="g")]
    )

    histogram = await storage.duration_histogram(func_name="f")

    expected = [0] * (len(DURATION_EDGES) + 1)
    for seconds in took:
        expected[duration_bin(seconds)] += 1
    assert list(histogram.counts) == expected
    # An edge belongs to the bin above it; beyond the last edge is the last bin.
    assert histogram.counts[0] == 1 and histogram.counts[1] == 1 and histogram.counts[-1] == 1
    overall = await storage.duration_histogram()
    assert overall.total == len(took) + 1


@pytest.mark.parametrize("count", [0, -1])
def test_a_window_needs_buckets(count: int) -> None:
    with pytest.raises(ValueError):
        ActivityWindow(start=T0, bucket=timedelta(minutes=1), count=count)
