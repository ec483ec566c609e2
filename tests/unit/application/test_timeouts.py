"""Per-attempt timeouts: measured on the clock port, so the fake clock decides when they fire."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.application.task_log import task_log
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.tracing import AttemptOutcome

from .conftest import Harness, wait_for
from .test_attempt_tracing import FakeTracer, spans_of

pytestmark = pytest.mark.asyncio

MakeHarness = Callable[..., Awaitable[Harness]]

#: Real seconds a thread-based test may wait for a thread before it counts as a failure.
PATIENCE = 10.0


async def manual(make_harness: MakeHarness, **config: object) -> Harness:
    """A harness whose clock moves only when the test says so."""
    return await make_harness(clock=FakeClock(auto_advance=False), **config)


async def deadline_armed(harness: Harness, count: int = 1) -> None:
    await wait_for(lambda: harness.clock.sleeping >= count, "the attempt's deadline")


async def settled(harness: Harness, task_id: str) -> TaskRecord:
    await wait_for(lambda: not harness.record(task_id).status.is_live, "the task to finish")
    return harness.record(task_id)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """For work in real threads: poll in real time, bounded."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def test_an_async_attempt_is_cancelled_at_its_deadline(make_harness: MakeHarness) -> None:
    harness = await manual(make_harness)
    seen: list[str] = []

    async def fetch_feed() -> None:
        try:
            await asyncio.Event().wait()  # nobody sets it
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    harness.register(fetch_feed, timeout=5)
    task_id = harness.start(fetch_feed)
    await deadline_armed(harness)

    harness.clock.advance(4.9)
    for _ in range(20):
        await asyncio.sleep(0)
    assert harness.record(task_id).status is TaskStatus.RUNNING
    assert seen == []

    harness.clock.advance(0.1)
    record = await settled(harness, task_id)
    assert record.status is TaskStatus.FAILED
    assert record.error == "TaskTimeout: fetch_feed timed out after 5s on attempt 1"
    assert record.stacktrace is not None and "TaskTimeout" in record.stacktrace
    assert seen == ["cancelled"]
    assert record.duration == 5.0


async def test_an_attempt_that_finishes_in_time_is_not_touched(
    make_harness: MakeHarness,
) -> None:
    harness = await manual(make_harness)

    async def quick() -> str:
        return "done"

    harness.register(quick, timeout=5)
    task_id = harness.start(quick)
    record = await settled(harness, task_id)
    assert record.status is TaskStatus.SUCCESS
    assert harness.clock.sleeping == 0  # the deadline was disarmed, not left behind


async def test_a_timed_out_attempt_is_retried_with_the_usual_backoff(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await manual(make_harness, loggers=[tracer])
    attempts: list[int] = []

    async def sync_crm() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            await asyncio.Event().wait()
        return "synced"

    harness.register(sync_crm, timeout=2, retries=3, delay=10, backoff=3)
    task_id = harness.start(sync_crm)
    started = harness.clock.now()

    await deadline_armed(harness)
    harness.clock.advance(2)  # attempt 1 times out; the retry waits 10 s
    await wait_for(lambda: harness.clock.sleeps[-1] == 10, "the first retry wait")
    harness.clock.advance(10)
    await wait_for(lambda: len(attempts) == 2, "attempt 2")
    await deadline_armed(harness)
    harness.clock.advance(2)  # attempt 2 times out; the retry waits 30 s
    await wait_for(lambda: harness.clock.sleeps[-1] == 30, "the second retry wait")
    harness.clock.advance(30)

    record = await settled(harness, task_id)
    assert record.status is TaskStatus.SUCCESS
    assert record.attempt == 3
    assert (harness.clock.now() - started).total_seconds() == 44
    assert [s for s in harness.clock.sleeps if s != 2] == [10, 30]
    warnings = [line for line in record.logs if "failed" in line]
    assert (
        "Attempt 1 failed: TaskTimeout: sync_crm timed out after 2s on attempt 1" in (warnings[0])
    )
    assert "retrying in 10s" in warnings[0]
    assert "on attempt 2; retrying in 30s" in warnings[1]

    await harness.idle()
    retrying = [
        event.error
        for event in harness.observer.lifecycle_events
        if event.task_id == task_id and event.status is TaskStatus.RUNNING and event.error
    ]
    assert retrying == [
        "TaskTimeout: sync_crm timed out after 2s on attempt 1",
        "TaskTimeout: sync_crm timed out after 2s on attempt 2",
    ]
    spans = spans_of(tracer, task_id)
    assert [span.outcome for span in spans] == [
        AttemptOutcome.RETRYING,
        AttemptOutcome.RETRYING,
        AttemptOutcome.SUCCESS,
    ]
    assert type(spans[0].error).__name__ == "TaskTimeout"


async def test_the_last_timed_out_attempt_fails_the_task_and_its_span(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await manual(make_harness, loggers=[tracer])

    async def stuck() -> None:
        await asyncio.Event().wait()

    harness.register(stuck, timeout=1.5, retries=1)
    task_id = harness.start(stuck)
    for _ in range(2):
        await deadline_armed(harness)
        harness.clock.advance(1.5)
    record = await settled(harness, task_id)
    assert record.error == "TaskTimeout: stuck timed out after 1.5s on attempt 2"
    await harness.idle()
    final = [e for e in harness.observer.lifecycle_events if e.task_id == task_id][-1]
    assert final.status is TaskStatus.FAILED
    assert final.error == record.error
    assert [span.outcome for span in spans_of(tracer, task_id)] == [
        AttemptOutcome.RETRYING,
        AttemptOutcome.FAILED,
    ]


async def test_the_timeout_given_per_call_wins_over_the_tasks_own(
    make_harness: MakeHarness,
) -> None:
    harness = await manual(make_harness)

    async def render() -> None:
        await asyncio.Event().wait()

    harness.register(render, timeout=60)
    default = harness.service.enqueue(render, (), {})
    chosen = harness.service.enqueue(render, (), {}, EnqueueOptions(timeout=0.5))
    assert default.record.timeout == 60
    assert chosen.record.timeout == 0.5

    harness.service.dispatch_now(chosen.task_id)
    await deadline_armed(harness)
    harness.clock.advance(0.5)
    record = await settled(harness, chosen.task_id)
    assert record.error == "TaskTimeout: render timed out after 0.5s on attempt 1"


async def test_an_abandoned_thread_can_never_change_the_task(make_harness: MakeHarness) -> None:
    harness = await manual(make_harness)
    entered = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]
    returned: list[int] = []

    def export_rows() -> int:
        attempt = len([e for e in entered if e.is_set()])
        entered[attempt].set()
        assert release[attempt].wait(PATIENCE)
        task_log(f"late line from attempt {attempt + 1}")
        returned.append(attempt + 1)
        if attempt == 0:
            raise RuntimeError("the late failure of attempt 1")
        return attempt + 1

    harness.register(export_rows, timeout=3, retries=1)
    task_id = harness.start(export_rows)
    await eventually(entered[0].is_set, "the first thread to start")
    await deadline_armed(harness)
    harness.clock.advance(3)  # attempt 1 is abandoned; attempt 2 starts in another thread

    await eventually(entered[1].is_set, "the second attempt")
    record = harness.record(task_id)
    assert record.status is TaskStatus.RUNNING and record.attempt == 2
    assert any("its thread keeps running" in line for line in record.logs)

    # Attempt 1's thread finally returns (raising): nothing of it reaches the task.
    release[0].set()
    await eventually(lambda: returned == [1], "the abandoned thread to return")
    for _ in range(50):
        await asyncio.sleep(0)
    record = harness.record(task_id)
    assert record.status is TaskStatus.RUNNING and record.attempt == 2
    assert not any("late line from attempt 1" in line for line in record.logs)
    assert harness.service.dispatcher.in_flight == 1

    release[1].set()
    await eventually(lambda: not harness.record(task_id).status.is_live, "attempt 2")
    record = harness.record(task_id)
    assert record.status is TaskStatus.SUCCESS
    assert any("late line from attempt 2" in line for line in record.logs)
    assert not any("late line from attempt 1" in line for line in record.logs)


async def test_an_abandoned_thread_is_reported_with_a_warning(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await manual(make_harness)
    entered, release = threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        release.wait(PATIENCE)

    harness.register(block, timeout=1)
    task_id = harness.start(block)
    try:
        await eventually(entered.is_set, "the thread to start")
        await deadline_armed(harness)
        with caplog.at_level("WARNING", logger="fastapi_taskflow.dispatch"):
            harness.clock.advance(1)
            record = await settled(harness, task_id)
        assert record.status is TaskStatus.FAILED
        assert record.error == "TaskTimeout: block timed out after 1s on attempt 1"
        messages = [r.getMessage() for r in caplog.records]
        assert any("block" in m and task_id in m and "keeps running" in m for m in messages)
    finally:
        release.set()


async def test_a_recovered_task_keeps_its_timeout() -> None:
    storage = MemoryTaskStorage()
    storage.durable = True  # a database that outlived the process
    created = datetime(2025, 12, 31, tzinfo=timezone.utc)
    await storage.save(
        [
            TaskRecord(
                task_id="t1",
                func_name="poll_bank",
                created_at=created,
                instance_id="dead",
                timeout=7,
            )
        ]
    )

    async def poll_bank() -> None:
        await asyncio.Event().wait()

    harness = Harness(storage=storage, clock=FakeClock(auto_advance=False))
    harness.register(poll_bank)  # no timeout of its own: the stored one applies
    await harness.service.startup()
    try:
        await wait_for(
            lambda: (
                (record := harness.service.recorder.store.get("t1")) is not None
                and record.status is TaskStatus.RUNNING
            ),
            "the recovered task to start",
        )
        await deadline_armed(harness)
        armed = harness.clock.wake_times()
        harness.clock.advance(7)
        record = await settled(harness, "t1")
        assert record.error == "TaskTimeout: poll_bank timed out after 7s on attempt 1"
        assert armed  # it was the stored limit that fired
    finally:
        await harness.service.shutdown()


async def test_cancelling_a_task_with_a_timeout_still_cancels_it(
    make_harness: MakeHarness,
) -> None:
    harness = await manual(make_harness)

    async def wait_forever() -> None:
        await asyncio.Event().wait()

    harness.register(wait_forever, timeout=100)
    task_id = harness.start(wait_forever)
    await deadline_armed(harness)
    await harness.service.cancel(task_id)
    record = await settled(harness, task_id)
    assert record.status is TaskStatus.CANCELLED
    assert harness.clock.sleeping == 0
