"""Start-up recovery of work left behind by processes that stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.recovery import recover_unfinished
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord

from .conftest import Harness

pytestmark = pytest.mark.asyncio

CREATED = datetime(2025, 12, 31, tzinfo=timezone.utc)


def left_behind(task_id: str, func_name: str, *, running: bool, owner: str) -> TaskRecord:
    record = TaskRecord(
        task_id=task_id, func_name=func_name, created_at=CREATED, instance_id=owner
    )
    if running:
        record.start(CREATED)
    return record


async def seeded(harness: Harness, *records: TaskRecord) -> None:
    await harness.storage.save(list(records))


async def test_work_of_a_dead_instance_is_recovered_once(harness: Harness) -> None:
    def send() -> None: ...
    def resend() -> None: ...

    harness.register(send)
    harness.register(resend, requeue_on_interrupt=True)
    await seeded(
        harness,
        left_behind("p", "send", running=False, owner="dead"),
        left_behind("r", "send", running=True, owner="dead"),
        left_behind("q", "resend", running=True, owner="dead"),
        left_behind("u", "gone_function", running=False, owner="dead"),
        left_behind("alive", "send", running=False, owner="other"),
    )
    for instance in ("other", "me", "you"):
        await harness.storage.heartbeat(instance, harness.clock.now(), ttl=60)

    async def recover(instance_id: str) -> list[str]:
        records = await recover_unfinished(
            storage=harness.storage,
            registry=harness.service.registry,
            recorder=harness.service.recorder,
            clock=harness.clock,
            instance_id=instance_id,
        )
        return sorted(r.task_id for r in records)

    first, second = await asyncio.gather(recover("me"), recover("you"))
    assert sorted(first + second) == ["p", "q"]  # each pending task is claimed exactly once
    await harness.service.flush()

    statuses = {
        task_id: (await harness.storage.get(task_id)).status  # type: ignore[union-attr]
        for task_id in ["p", "r", "q", "u", "alive"]
    }
    assert statuses == {
        "p": TaskStatus.PENDING,
        "r": TaskStatus.INTERRUPTED,
        "q": TaskStatus.PENDING,
        "u": TaskStatus.FAILED,
        "alive": TaskStatus.PENDING,
    }
    failed = await harness.storage.get("u")
    assert failed is not None and "gone_function" in (failed.error or "")


async def test_startup_runs_recovered_tasks() -> None:
    storage = MemoryTaskStorage()
    storage.durable = True  # behave like a database that outlived the process
    ran: list[str] = []

    async def deliver(parcel: str) -> None:
        ran.append(parcel)

    record = TaskRecord(
        task_id="t1", func_name="deliver", created_at=CREATED, args=("box",), instance_id="dead"
    )
    await storage.save([record])

    harness = Harness(storage=storage)
    service = harness.service
    harness.register(deliver)
    await service.startup()
    try:
        assert await service.dispatcher.wait_idle(5)
        assert ran == ["box"]
        await service.flush()
        stored = await storage.get("t1")
        assert stored is not None and stored.status is TaskStatus.SUCCESS
    finally:
        await service.shutdown()


async def recover(harness: Harness, **options: Any) -> list[str]:
    records = await recover_unfinished(
        storage=harness.storage,
        registry=harness.service.registry,
        recorder=harness.service.recorder,
        clock=harness.clock,
        instance_id="me",
        **options,
    )
    return [record.task_id for record in records]


async def stored(harness: Harness, task_id: str) -> TaskRecord:
    await harness.service.flush()
    record = await harness.storage.get(task_id)
    assert record is not None
    return record


async def test_a_task_that_keeps_killing_its_process_stops_being_rerun(harness: Harness) -> None:
    def crashy() -> None: ...

    harness.register(crashy, requeue_on_interrupt=True)
    once = left_behind("once", "crashy", running=True, owner="dead")
    once.crash_reruns = 1
    worn_out = left_behind("worn-out", "crashy", running=True, owner="dead")
    worn_out.crash_reruns = 2
    await seeded(harness, once, worn_out)

    assert await recover(harness, max_crash_reruns=2) == ["once"]

    rerun = await stored(harness, "once")
    assert (rerun.status, rerun.crash_reruns, rerun.instance_id) == (TaskStatus.PENDING, 2, "me")
    given_up = await stored(harness, "worn-out")
    assert given_up.status is TaskStatus.INTERRUPTED
    assert given_up.error is not None and "max_crash_reruns=2" in given_up.error


async def test_a_task_interrupted_by_a_crash_says_why(harness: Harness) -> None:
    def plain() -> None: ...

    harness.register(plain)
    await seeded(harness, left_behind("r", "plain", running=True, owner="dead"))

    assert await recover(harness) == []

    record = await stored(harness, "r")
    assert record.status is TaskStatus.INTERRUPTED
    assert record.error == "interrupted: the process running it stopped"
    assert record.crash_reruns == 0


async def test_tasks_requeued_without_an_owner_are_recovered(harness: Harness) -> None:
    def send() -> None: ...

    harness.register(send)
    requeued = TaskRecord(task_id="q", func_name="send", created_at=CREATED)
    await seeded(harness, requeued)

    assert await recover(harness) == ["q"]


async def test_a_sweep_takes_no_more_than_the_live_limit(harness: Harness) -> None:
    def send() -> None: ...

    harness.register(send)
    await seeded(
        harness, *(left_behind(f"p{n}", "send", running=False, owner="dead") for n in range(5))
    )

    first = await recover(harness, max_live=3)
    assert first == ["p0", "p1", "p2"]
    assert await recover(harness, max_live=3) == []  # still holding three live tasks
    orphan = await stored(harness, "p4")
    assert orphan.instance_id == "dead"  # left for a later sweep or another instance
