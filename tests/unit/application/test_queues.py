"""Named queues through the service: routing, caps per queue, backpressure, live changes and
how eager and priority combine with queues."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.application.queues import Queues
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.domain.errors import QueueFullError
from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.domain.status import TaskStatus

from .conftest import Harness, wait_for

pytestmark = pytest.mark.asyncio

MakeHarness = Callable[..., Awaitable[Harness]]


class Gate:
    """Async tasks that hold their slot until released, counting how many run per queue."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.order: list[str] = []

    async def hold(self, queue: str, label: str = "") -> None:
        self.running[queue] = self.running.get(queue, 0) + 1
        self.peak[queue] = max(self.peak.get(queue, 0), self.running[queue])
        self.order.append(label)
        await self.open.wait()
        self.running[queue] -= 1


def enqueue(harness: Harness, func, *args, dispatch: bool = True, **options) -> str:  # type: ignore[no-untyped-def]
    result = harness.service.enqueue(func, args, {}, EnqueueOptions(**options))
    if dispatch:
        harness.service.dispatch_now(result.task_id)
    return result.task_id


async def test_each_queue_has_its_own_cap_and_default_keeps_max_concurrent_tasks(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(
        max_concurrent_tasks=2, queues=(("emails", QueueConfig(concurrency=1)),)
    )
    gate = Gate()
    harness.register(gate.hold)
    ids = [enqueue(harness, gate.hold, "default") for _ in range(5)]
    ids += [enqueue(harness, gate.hold, "emails", queue="emails") for _ in range(5)]
    await wait_for(lambda: sum(gate.running.values()) == 3, "both queues at their cap")
    for _ in range(20):
        await asyncio.sleep(0)
    assert gate.running == {"default": 2, "emails": 1}
    stats = {s.name: s for s in harness.service.queues.stats()}
    assert (stats["default"].running, stats["default"].pending) == (2, 3)
    assert (stats["emails"].running, stats["emails"].pending) == (1, 4)
    gate.open.set()
    await harness.idle()
    assert gate.peak == {"default": 2, "emails": 1}
    assert {harness.record(t).queue for t in ids} == {"default", "emails"}


async def test_an_unknown_queue_is_refused_before_anything_is_recorded(
    harness: Harness,
) -> None:
    async def plain() -> None: ...

    harness.register(plain)
    with pytest.raises(ValueError, match=r"unknown queue 'emails'.*default"):
        harness.service.enqueue(plain, (), {}, EnqueueOptions(queue="emails"))
    assert harness.service.recorder.store.live() == []
    assert harness.record(enqueue(harness, plain, dispatch=False)).queue == "default"


async def test_queue_precedence(make_harness: MakeHarness) -> None:
    harness = await make_harness(
        queues=(("a", QueueConfig()), ("b", QueueConfig())),
    )

    async def job() -> None: ...

    harness.register(job, name="job", queue="a")
    assert harness.record(enqueue(harness, job, dispatch=False)).queue == "a"
    assert harness.record(enqueue(harness, job, dispatch=False, queue="b")).queue == "b"
    with pytest.raises(ValueError, match="unknown queue 'c'"):
        enqueue(harness, job, dispatch=False, queue="c")
    with pytest.raises(ValueError, match="queue must be a non-empty string"):
        EnqueueOptions(queue="")
    await harness.idle()


async def test_a_full_queue_refuses_the_task_and_keeps_it_as_rejected(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(queues=(("small", QueueConfig(concurrency=1, max_size=2)),))
    gate = Gate()
    harness.register(gate.hold, queue="small")
    running = enqueue(harness, gate.hold, "small")
    await wait_for(lambda: harness.record(running).status is TaskStatus.RUNNING, "first runs")
    # Two may wait; the running one does not count.
    waiting = [enqueue(harness, gate.hold, "small") for _ in range(2)]
    with pytest.raises(QueueFullError) as refused:
        enqueue(harness, gate.hold, "small", tags={"order": "42"})
    error = refused.value
    assert isinstance(error, RuntimeError)
    assert (error.queue, error.max_size, error.waiting) == ("small", 2, 2)
    assert error.retry_after >= 1
    rejected = harness.record(error.task_id)
    assert rejected.status is TaskStatus.REJECTED
    assert "queue 'small' was full" in (rejected.error or "")
    assert rejected.args == ("small",) and rejected.tags == {"order": "42"}
    assert harness.service.queues.stats()[1].rejected == 1

    gate.open.set()
    await harness.idle()
    assert [harness.record(t).status for t in [running, *waiting]] == [TaskStatus.SUCCESS] * 3
    # Replayed through the ordinary retry path once there is room again.
    retried = await harness.service.operator.retry(
        error.task_id, actor="ops", arguments_visible=False
    )
    await harness.idle()
    assert harness.record(retried.task.task_id).status is TaskStatus.SUCCESS
    assert harness.record(retried.task.task_id).queue == "small"


async def test_tasks_waiting_after_their_response_count_towards_max_size(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(max_size=1)

    async def job() -> None: ...

    harness.register(job)
    enqueue(harness, job, dispatch=False)  # pending, due to start after the response
    with pytest.raises(QueueFullError):
        enqueue(harness, job, dispatch=False)


async def test_eager_and_priority_never_bypass_the_queue(make_harness: MakeHarness) -> None:
    """Precedence: every task takes a slot of its queue; priority orders within the queue;
    eager only changes when the task is dispatched."""
    harness = await make_harness(
        queues=(("q", QueueConfig(concurrency=1, max_size=2)), ("other", QueueConfig()))
    )
    gate = Gate()
    harness.register(gate.hold)
    first = enqueue(harness, gate.hold, "q", "first", queue="q")
    await wait_for(lambda: harness.record(first).status is TaskStatus.RUNNING, "first runs")
    low = harness.service.enqueue(gate.hold, ("q", "low"), {}, EnqueueOptions(queue="q"))
    eager = harness.service.enqueue(
        gate.hold, ("q", "eager-high"), {}, EnqueueOptions(queue="q", eager=True, priority=9)
    )
    assert eager.immediate and not low.immediate
    harness.service.dispatch_now(low.task_id)
    harness.service.dispatch_now(eager.task_id)
    for _ in range(10):
        await asyncio.sleep(0)
    # The cap holds for the eager, prioritised task: it waits like any other.
    assert harness.record(eager.task_id).status is TaskStatus.PENDING
    # max_size applies to eager and prioritised tasks too.
    with pytest.raises(QueueFullError):
        harness.service.enqueue(gate.hold, ("q",), {}, EnqueueOptions(queue="q", eager=True))
    with pytest.raises(QueueFullError):
        harness.service.enqueue(gate.hold, ("q",), {}, EnqueueOptions(queue="q", priority=99))
    # Priority never moves a task to another queue's free slots.
    elsewhere = enqueue(harness, gate.hold, "other", "elsewhere", queue="other")
    await wait_for(lambda: harness.record(elsewhere).status is TaskStatus.RUNNING, "other")
    gate.open.set()
    await harness.idle()
    assert gate.order == ["first", "elsewhere", "eager-high", "low"]


async def test_fairness_by_tag_serves_every_tenant(make_harness: MakeHarness) -> None:
    harness = await make_harness(
        queues=(("shared", QueueConfig(concurrency=1, fair_by="tenant")),)
    )
    gate = Gate()
    harness.register(gate.hold, queue="shared")
    blocker = enqueue(harness, gate.hold, "shared", "block")
    await wait_for(lambda: harness.record(blocker).status is TaskStatus.RUNNING, "blocker")
    for i in range(20):
        enqueue(harness, gate.hold, "shared", f"big{i}", tags={"tenant": "big"})
    enqueue(harness, gate.hold, "shared", "small", tags={"tenant": "small"})
    gate.open.set()
    await harness.idle()
    assert gate.order.index("small") == 2  # right after the first "big" task


async def test_live_changes_apply_at_once_and_are_saved(make_harness: MakeHarness) -> None:
    storage = MemoryTaskStorage()
    harness = await make_harness(
        storage=storage, queues=(("q", QueueConfig(concurrency=1, max_size=10)),)
    )
    gate = Gate()
    harness.register(gate.hold, queue="q")
    for _ in range(5):
        enqueue(harness, gate.hold, "q")
    await wait_for(lambda: gate.running.get("q") == 1, "one runs")
    updated = await harness.service.queues.update("q", concurrency=3)
    assert updated == QueueConfig(concurrency=3, max_size=10)
    await wait_for(lambda: gate.running.get("q") == 3, "raising the cap starts waiters")
    assert (await storage.queue_configs())["q"] == updated

    # Another instance sharing the store picks the change up when it loads the settings.
    other = await make_harness(storage=storage, queues=(("q", QueueConfig(concurrency=1)),))
    assert other.service.queues.config("q") == updated

    with pytest.raises(KeyError, match="unknown queue 'nope'"):
        await harness.service.queues.update("nope", concurrency=1)
    with pytest.raises(ValueError, match="max_size"):
        await harness.service.queues.update("q", max_size=0)
    assert harness.service.queues.config("q") == updated  # a refused change changes nothing
    gate.open.set()
    await harness.idle()


async def test_retry_after_follows_observed_durations(make_harness: MakeHarness) -> None:
    harness = await make_harness(queues=(("q", QueueConfig(concurrency=2, max_size=4)),))
    queues = harness.service.queues

    async def work() -> None:
        await harness.clock.sleep(10)

    harness.register(work, queue="q")
    # Before any task finished, a duration of 1 s is assumed: 1 * ceil(4 / 2) / 2 = 1 s.
    assert queues.retry_after("q", 4) == 1
    for _ in range(2):
        await harness.service.execute(enqueue(harness, work, dispatch=False))
    assert queues.stats()[1].avg_duration == pytest.approx(10.0)
    # 10 s per task, 4 waiting, 2 lanes: half of them start after 10 * 2 / 2 = 10 s.
    assert queues.retry_after("q", 4) == 10


async def test_the_default_queue_takes_max_concurrent_tasks_and_max_size_unless_configured() -> (
    None
):
    def default_of(**options) -> QueueConfig:  # type: ignore[no-untyped-def]
        queues = Queues(store=TaskStore(), settings=MemoryTaskStorage(), **options)
        return queues.config("default")

    assert default_of() == QueueConfig()
    assert default_of(default_concurrency=4, default_max_size=10) == QueueConfig(4, 10)
    configured = (("default", QueueConfig(concurrency=2)),)
    assert default_of(queues=configured, default_concurrency=4) == QueueConfig(2)
    assert default_of(queues=configured, default_max_size=10) == QueueConfig(2, 10)
    with pytest.raises(ValueError, match="must be a QueueConfig"):
        Queues(store=TaskStore(), settings=MemoryTaskStorage(), queues={"x": 3})  # type: ignore[dict-item]
