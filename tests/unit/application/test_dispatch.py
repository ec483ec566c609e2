"""Concurrency limits, priority order, cancellation and shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound
from fastapi_taskflow.domain.status import TaskStatus

from .conftest import Harness, wait_for

pytestmark = pytest.mark.asyncio

MakeHarness = Callable[..., Awaitable[Harness]]


async def test_waiting_tasks_run_by_priority_then_arrival(make_harness: MakeHarness) -> None:
    harness = await make_harness(max_concurrent_tasks=1)
    gate = asyncio.Event()
    order: list[str] = []

    async def blocker() -> None:
        await gate.wait()

    async def job(name: str) -> None:
        order.append(name)

    harness.register(blocker)
    harness.register(job)
    blocking = harness.start(blocker)
    await wait_for(lambda: harness.record(blocking).status is TaskStatus.RUNNING, "blocker")
    queued = []
    for name, priority in [("low", 1), ("mid-a", 5), ("mid-b", 5), ("high", 10), ("none", None)]:
        result = harness.service.enqueue(job, (name,), {}, EnqueueOptions(priority=priority))
        harness.service.dispatch_now(result.task_id)
        queued.append(result.task_id)
    await asyncio.sleep(0)

    # Only the task holding the slot is running; the others wait as pending.
    assert [harness.record(t).status for t in queued] == [TaskStatus.PENDING] * 5
    assert harness.service.dispatcher.in_flight == 6
    gate.set()
    await harness.idle()
    assert order == ["high", "mid-a", "mid-b", "low", "none"]


async def test_the_limit_is_never_exceeded(make_harness: MakeHarness) -> None:
    harness = await make_harness(max_concurrent_tasks=3)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1

    harness.register(work)
    for _ in range(30):
        harness.start(work)
    await harness.idle()
    assert peak == 3


async def test_cancelling_a_pending_task_means_it_never_runs(make_harness: MakeHarness) -> None:
    harness = await make_harness(max_concurrent_tasks=1)
    gate = asyncio.Event()
    ran: list[str] = []

    async def blocker() -> None:
        await gate.wait()

    async def job() -> None:
        ran.append("job")

    harness.register(blocker)
    harness.register(job)
    harness.start(blocker)
    waiting = harness.start(job)
    await asyncio.sleep(0)
    record = await harness.service.cancel(waiting)
    assert record.status is TaskStatus.CANCELLED
    gate.set()
    await harness.idle()
    assert ran == []
    assert harness.record(waiting).status is TaskStatus.CANCELLED


async def test_cancelling_a_running_async_task_stops_it(harness: Harness) -> None:
    reached_end: list[bool] = []

    async def long_job() -> None:
        await asyncio.Event().wait()
        reached_end.append(True)

    harness.register(long_job)
    task_id = harness.start(long_job)
    await wait_for(lambda: harness.record(task_id).status is TaskStatus.RUNNING, "start")
    record = await harness.service.cancel(task_id)
    assert record.status is TaskStatus.CANCELLED
    assert record.end_time is not None
    assert reached_end == []


async def test_cancelling_a_running_sync_task_stops_waiting_for_it(harness: Harness) -> None:
    inside = threading.Event()
    release = threading.Event()

    def blocking_io() -> None:
        inside.set()
        release.wait(10)

    harness.register(blocking_io)
    task_id = harness.start(blocking_io)
    await wait_for(inside.is_set, "the thread to start")
    record = await harness.service.cancel(task_id)
    assert record.status is TaskStatus.CANCELLED
    release.set()


async def test_finished_or_unknown_tasks_cannot_be_cancelled(harness: Harness) -> None:
    async def quick() -> None:
        return None

    harness.register(quick)
    record = await harness.run(quick)
    with pytest.raises(InvalidTransition):
        await harness.service.cancel(record.task_id)
    with pytest.raises(TaskNotFound):
        await harness.service.cancel("no-such-task")


async def test_shutdown_interrupts_running_tasks_or_requeues_idempotent_ones(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness()

    async def report() -> None:
        await asyncio.Event().wait()

    async def resend() -> None:
        await asyncio.Event().wait()

    harness.register(report)
    harness.register(resend, requeue_on_interrupt=True)
    plain = harness.start(report)
    safe = harness.start(resend)
    await wait_for(
        lambda: (
            harness.record(plain).status is TaskStatus.RUNNING
            and harness.record(safe).status is TaskStatus.RUNNING
        ),
        "both tasks to run",
    )
    await harness.service.shutdown()

    interrupted = await harness.storage.get(plain)
    requeued = await harness.storage.get(safe)
    assert interrupted is not None and interrupted.status is TaskStatus.INTERRUPTED
    assert requeued is not None and requeued.status is TaskStatus.PENDING
    assert requeued.instance_id is None  # free for the next start-up to claim
