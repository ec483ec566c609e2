"""Start-up recovery of work left behind by processes that stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

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
