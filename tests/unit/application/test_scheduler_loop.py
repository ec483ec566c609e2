"""The scheduler's rounds: a claim that hangs in storage holds up no later slot."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.one_off_schedules import OneOffSchedules
from fastapi_taskflow.application.periodic_schedules import PeriodicSchedules
from fastapi_taskflow.application.scheduler import Scheduler
from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.domain.triggers import IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class StuckFirstClaim(MemoryTaskStorage):
    """The first slot claim waits until released, as behind a frozen instance's lock."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self._first = True

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        if self._first:
            self._first = False
            await self.release.wait()
        return await super().claim_slot(entry, slot, record)


async def test_a_hanging_claim_does_not_hold_up_the_next_slot() -> None:
    clock = FakeClock(T0, auto_advance=False)
    store = StuckFirstClaim()
    launched: list[str] = []
    slots: dict[str, datetime | None] = {}

    def new_run(entry: ScheduleEntry, slot: datetime | None) -> TaskRecord:
        task_id = f"run-{len(slots)}"
        slots[task_id] = slot
        return TaskRecord(task_id=task_id, func_name=entry.name, created_at=clock.now())

    def launch(record: TaskRecord) -> None:
        launched.append(record.task_id)

    periodic = PeriodicSchedules(slots=store, new_run=new_run, launch=launch)
    periodic.add(ScheduleEntry(name="ping", trigger=IntervalTrigger(1)), clock.now())
    one_offs = OneOffSchedules(runs=store, new_run=lambda _: None, launch=launch)
    scheduler = Scheduler(periodic=periodic, one_offs=one_offs, clock=clock)
    await periodic.start(clock.now())

    clock.advance(1)
    assert await scheduler.tick() == T0 + timedelta(seconds=2)
    await asyncio.sleep(0)
    clock.advance(1)
    await scheduler.tick()
    await asyncio.sleep(0)
    assert [slots[task_id] for task_id in launched] == [T0 + timedelta(seconds=2)]

    store.release.set()
    await scheduler.settle()
    # The memory store keeps only each entry's latest slot, so the claim that hung behind a
    # newer one is refused: late slots are never fired twice.
    assert [slots[task_id] for task_id in launched] == [T0 + timedelta(seconds=2)]
