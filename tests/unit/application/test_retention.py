"""Retention on the fake clock: what is pruned, when, by which instance, and the audit trail."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.ports.audit import AuditQuery

from .conftest import Harness

DAY = 86_400.0
#: The maintenance tick with the harness's 30-second lease.
TICK = 10.0


class CountingStorage(MemoryTaskStorage):
    """The in-memory store, counting the retention calls it receives."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.prune_calls: list[datetime] = []

    async def delete_finished_before(self, cutoff: datetime) -> int:
        self.prune_calls.append(cutoff)
        return await super().delete_finished_before(cutoff)


@pytest.fixture
async def started() -> AsyncIterator[Callable[..., Any]]:
    harnesses: list[Harness] = []

    async def start(**config: Any) -> Harness:
        config.setdefault("clock", FakeClock(auto_advance=False))
        harness = Harness(**config)
        await harness.service.startup()
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        await harness.service.shutdown()


async def settle() -> None:
    """Let woken background loops run to their next wait."""
    for _ in range(200):
        await asyncio.sleep(0)


async def advance(clock: FakeClock, seconds: float) -> None:
    """Move time forward in one step and let the loops woken by it run."""
    clock.advance(seconds)
    await settle()


async def retention_entries(harness: Harness) -> list[AuditEntry]:
    page = await harness.service.operator.audit.page(
        AuditQuery(action=AuditAction.RETENTION), limit=100
    )
    return list(page.items)


async def noop() -> None:
    return None


async def test_old_finished_tasks_go_and_unfinished_ones_stay_however_old(
    started: Callable[..., Any],
) -> None:
    storage = CountingStorage()
    harness: Harness = await started(storage=storage, retention_days=30)
    harness.register(noop)
    done = (await harness.run(noop)).task_id
    pending = harness.service.enqueue(noop, (), {}).task_id  # accepted, never started
    await harness.service.flush()

    await advance(harness.clock, 90 * DAY)

    assert await storage.get(done) is None
    assert await harness.service.queries.get(done) is None  # gone from memory too
    still_pending = await storage.get(pending)
    assert still_pending is not None and still_pending.status.value == "pending"
    (entry,) = await retention_entries(harness)
    assert entry.actor is None
    assert entry.task_ids == ()
    assert entry.detail["deleted"] == 1
    assert entry.detail["retention_days"] == 30
    assert datetime.fromisoformat(entry.detail["cutoff"]) == storage.prune_calls[-1]


async def test_the_first_run_comes_one_tick_after_start_then_one_per_interval(
    started: Callable[..., Any],
) -> None:
    storage = CountingStorage()
    harness: Harness = await started(storage=storage, retention_days=1, retention_interval=3600.0)

    await advance(harness.clock, TICK)
    assert len(storage.prune_calls) == 1
    await advance(harness.clock, 3600.0 - TICK)
    assert len(storage.prune_calls) == 1
    await advance(harness.clock, TICK)
    assert len(storage.prune_calls) == 2
    for _ in range(5):
        await advance(harness.clock, 3600.0)
    assert len(storage.prune_calls) == 7
    assert harness.service.retention_interval == 3600.0


async def test_nothing_deleted_writes_no_audit_entry(started: Callable[..., Any]) -> None:
    storage = CountingStorage()
    harness: Harness = await started(storage=storage, retention_days=1)

    await advance(harness.clock, 2 * DAY)

    assert storage.prune_calls
    assert await retention_entries(harness) == []


async def test_setting_retention_days_on_a_running_manager_takes_effect(
    started: Callable[..., Any],
) -> None:
    storage = CountingStorage()
    harness: Harness = await started(storage=storage)  # memory://, no retention: no loop yet
    harness.register(noop)
    done = (await harness.run(noop)).task_id
    await advance(harness.clock, 3 * DAY)
    assert storage.prune_calls == []

    harness.service.retention_days = 2
    await settle()  # the maintenance loop starts now, and waits one tick
    await advance(harness.clock, TICK)

    assert await storage.get(done) is None
    assert len(await retention_entries(harness)) == 1

    harness.service.retention_days = None
    calls = len(storage.prune_calls)
    await advance(harness.clock, 2 * DAY)
    assert len(storage.prune_calls) == calls


@pytest.mark.parametrize("bad", [0, -1, 0.0, math.nan, math.inf, True, "7", 10**9])
async def test_invalid_retention_days_are_refused(started: Callable[..., Any], bad: Any) -> None:
    harness: Harness = await started(retention_days=5)
    with pytest.raises(ValueError, match="retention_days"):
        harness.service.retention_days = bad
    assert harness.service.retention_days == 5


async def test_two_instances_sharing_a_store_delete_once(started: Callable[..., Any]) -> None:
    clock = FakeClock(auto_advance=False)
    storage = CountingStorage()
    first: Harness = await started(storage=storage, clock=clock, retention_days=30)
    second: Harness = await started(storage=storage, clock=clock, retention_days=30)
    first.register(noop)
    ids = [(await first.run(noop)).task_id for _ in range(5)]
    await first.service.flush()

    await advance(clock, 40 * DAY)

    assert [await storage.get(task_id) for task_id in ids] == [None] * 5
    entries = await retention_entries(first)
    assert [entry.detail["deleted"] for entry in entries] == [5]
    # Both instances ran retention on every interval; only the first run found anything.
    assert len(storage.prune_calls) >= 2
    assert await first.service.prune_history() == 0
    assert await second.service.prune_history() == 0


async def test_an_instance_finding_the_lock_taken_deletes_nothing(
    started: Callable[..., Any],
) -> None:
    clock = FakeClock(auto_advance=False)
    storage = CountingStorage()
    holder: Harness = await started(storage=storage, clock=clock)
    other: Harness = await started(storage=storage, clock=clock, retention_days=1)
    holder.register(noop)
    done = (await holder.run(noop)).task_id
    await holder.service.flush()
    clock.advance(2 * DAY)
    assert await storage.acquire("taskflow:retention", holder.service.instance_id, ttl=600)

    assert await other.service.prune_history() == 0
    assert await storage.get(done) is not None

    await storage.release("taskflow:retention", holder.service.instance_id)
    assert await other.service.prune_history() == 1
