"""Contract: every store aggregates counts and durations to the same numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.metrics import DurationStats
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def finished(task_id: str, func_name: str, seconds: float, *, failed: bool = False) -> TaskRecord:
    record = TaskRecord(task_id=task_id, func_name=func_name, created_at=T0)
    record.start(T0)
    if failed:
        record.fail(T0 + timedelta(seconds=seconds), "boom")
    else:
        record.succeed(T0 + timedelta(seconds=seconds))
    return record


@pytest.fixture
async def history(storage: TaskStorage) -> TaskStorage:
    # resize: 20 successes taking 1..20 s.
    records = [finished(f"resize-{n}", "resize", n) for n in range(1, 21)]
    # email: 3 successes, 1 failure, and three tasks without a duration.
    records += [
        finished("email-1", "email", 0.5),
        finished("email-2", "email", 1.5),
        finished("email-3", "email", 2.5),
        finished("email-4", "email", 10, failed=True),
    ]
    pending = TaskRecord(task_id="email-5", func_name="email", created_at=T0)
    running = TaskRecord(task_id="email-6", func_name="email", created_at=T0)
    running.start(T0)
    cancelled = TaskRecord(task_id="email-7", func_name="email", created_at=T0)
    cancelled.cancel(T0)
    await storage.save([*records, pending, running, cancelled])
    return storage


def assert_stats(actual: DurationStats, expected: DurationStats) -> None:
    assert actual.count == expected.count
    assert actual.avg == pytest.approx(expected.avg)
    assert (actual.min, actual.max, actual.p95) == (expected.min, expected.max, expected.p95)


async def test_counts_and_durations_per_function(history: TaskStorage) -> None:
    metrics = await history.metrics(TaskQuery())

    email, resize = metrics.functions
    assert email.func_name == "email"
    assert dict(email.counts) == {
        TaskStatus.SUCCESS: 3,
        TaskStatus.FAILED: 1,
        TaskStatus.PENDING: 1,
        TaskStatus.RUNNING: 1,
        TaskStatus.CANCELLED: 1,
    }
    assert_stats(email.durations, DurationStats(count=4, avg=3.625, min=0.5, max=10.0, p95=10.0))
    assert resize.func_name == "resize"
    assert dict(resize.counts) == {TaskStatus.SUCCESS: 20}
    assert_stats(resize.durations, DurationStats(count=20, avg=10.5, min=1.0, max=20.0, p95=19.0))


async def test_overall_counts_success_rate_and_durations(history: TaskStorage) -> None:
    metrics = await history.metrics(TaskQuery())

    assert dict(metrics.counts) == {
        TaskStatus.SUCCESS: 23,
        TaskStatus.FAILED: 1,
        TaskStatus.PENDING: 1,
        TaskStatus.RUNNING: 1,
        TaskStatus.CANCELLED: 1,
    }
    assert metrics.total == 27
    assert metrics.success_rate == pytest.approx(23 / 25)
    # 24 durations; the nearest-rank 95th percentile is the 23rd smallest.
    assert_stats(
        metrics.durations, DurationStats(count=24, avg=224.5 / 24, min=0.5, max=20.0, p95=19.0)
    )


async def test_metrics_follow_the_query(history: TaskStorage) -> None:
    metrics = await history.metrics(
        TaskQuery(func_name="email", statuses=frozenset({TaskStatus.SUCCESS}))
    )

    assert dict(metrics.counts) == {TaskStatus.SUCCESS: 3}
    assert [function.func_name for function in metrics.functions] == ["email"]
    assert_stats(metrics.durations, DurationStats(count=3, avg=1.5, min=0.5, max=2.5, p95=2.5))


async def test_a_function_without_durations_has_empty_duration_stats(storage: TaskStorage) -> None:
    await storage.save([TaskRecord(task_id="waiting", func_name="later", created_at=T0)])

    metrics = await storage.metrics(TaskQuery())

    assert dict(metrics.counts) == {TaskStatus.PENDING: 1}
    assert metrics.success_rate is None
    assert metrics.durations == DurationStats()
    assert metrics.functions[0].durations == DurationStats()


async def test_an_empty_store_has_empty_metrics(storage: TaskStorage) -> None:
    metrics = await storage.metrics(TaskQuery())

    assert dict(metrics.counts) == {}
    assert metrics.durations == DurationStats()
    assert metrics.functions == ()
