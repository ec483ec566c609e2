"""Periodic entries on a fake clock: each slot once across instances, missed-slot policies."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.periodic_schedules import CLAIM_RETRY, PeriodicSchedules
from fastapi_taskflow.domain.schedule import MissedSlots, ScheduleEntry
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.domain.triggers import IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Instance:
    """One process's periodic schedules on a shared store, recording what it launched."""

    def __init__(self, store: MemoryTaskStorage, *entries: ScheduleEntry) -> None:
        self.launched: list[tuple[str, datetime | None]] = []
        self._slots: dict[str, datetime | None] = {}
        self.schedules = PeriodicSchedules(slots=store, new_run=self._new_run, launch=self._launch)
        for entry in entries:
            self.schedules.add(entry, T0)

    def _new_run(self, entry: ScheduleEntry, slot: datetime | None) -> TaskRecord:
        record = TaskRecord(
            task_id=f"run-{next(_ids)}", func_name=entry.name, created_at=T0, source="scheduled"
        )
        self._slots[record.task_id] = slot
        return record

    def _launch(self, record: TaskRecord) -> None:
        self.launched.append((record.func_name, self._slots[record.task_id]))


def every(seconds: float, name: str = "ping", **options: object) -> ScheduleEntry:
    return ScheduleEntry(name=name, trigger=IntervalTrigger(seconds), **options)  # type: ignore[arg-type]


async def test_an_entry_fires_at_each_slot_and_not_before() -> None:
    instance = Instance(MemoryTaskStorage(), every(60))
    await instance.schedules.start(at(0))

    assert instance.schedules.next_wake() == at(60)
    assert await instance.schedules.fire_due(at(59.9)) == 0
    assert await instance.schedules.fire_due(at(60)) == 1
    assert await instance.schedules.fire_due(at(60.5)) == 0
    assert await instance.schedules.fire_due(at(120.01)) == 1

    assert instance.launched == [("ping", at(60)), ("ping", at(120))]
    assert instance.schedules.next_wake() == at(180)


async def test_of_three_instances_exactly_one_fires_each_slot() -> None:
    store = MemoryTaskStorage()
    instances = [Instance(store, every(1)) for _ in range(3)]
    for instance in instances:
        await instance.schedules.start(at(0))

    for second in range(1, 21):
        for n, instance in enumerate(instances):
            await instance.schedules.fire_due(at(second + 0.001 * n))

    fired = sorted(slot for instance in instances for _, slot in instance.launched if slot)
    assert fired == [at(second) for second in range(1, 21)]


async def test_an_instance_that_stalled_fires_no_slot_another_one_fired() -> None:
    store = MemoryTaskStorage()
    awake, stalled = Instance(store, every(1)), Instance(store, every(1))
    await awake.schedules.start(at(0))
    await stalled.schedules.start(at(0))
    await stalled.schedules.fire_due(at(1))

    for second in range(2, 8):  # `stalled` is paused (SIGSTOP) through these slots
        await awake.schedules.fire_due(at(second))
    assert await stalled.schedules.fire_due(at(7.5)) == 0  # it wakes up late

    slots = [slot for instance in (awake, stalled) for _, slot in instance.launched]
    assert sorted(slot for slot in slots if slot) == [at(n) for n in range(1, 8)]


async def test_a_late_lone_instance_runs_only_the_latest_missed_slot() -> None:
    instance = Instance(MemoryTaskStorage(), every(10))
    await instance.schedules.start(at(0))

    assert await instance.schedules.fire_due(at(95)) == 1  # the loop was blocked 85 s

    assert instance.launched == [("ping", at(90))]
    assert instance.schedules.next_wake() == at(100)


async def test_missed_slots_are_skipped_by_default_after_a_restart() -> None:
    store = MemoryTaskStorage()
    before = Instance(store, every(60))
    await before.schedules.start(at(0))
    await before.schedules.fire_due(at(60))

    after = Instance(store, every(60))  # every instance was down from 61 s to 600 s
    await after.schedules.start(at(600))

    assert after.launched == []
    assert after.schedules.next_wake() == at(660)


async def test_run_once_catches_up_once_at_start_up_for_all_missed_slots() -> None:
    store = MemoryTaskStorage()
    before = Instance(store, every(60, missed="run_once"))
    await before.schedules.start(at(0))
    await before.schedules.fire_due(at(60))

    restarted = [Instance(store, every(60, missed="run_once")) for _ in range(3)]
    for instance in restarted:
        await instance.schedules.start(at(630))

    launched = [run for instance in restarted for run in instance.launched]
    assert launched == [("ping", at(600))]  # one run for the nine missed slots, by one instance
    assert await restarted[0].schedules.fire_due(at(660)) == 1


async def test_run_once_does_nothing_for_an_entry_that_never_ran() -> None:
    instance = Instance(MemoryTaskStorage(), every(60, missed=MissedSlots.RUN_ONCE))
    await instance.schedules.start(at(630))

    assert instance.launched == []


async def test_run_on_startup_runs_once_per_instance_start() -> None:
    store = MemoryTaskStorage()
    first = Instance(store, every(3600, run_on_startup=True))
    second = Instance(store, every(3600, run_on_startup=True))
    await first.schedules.start(at(5))
    await second.schedules.start(at(6))

    assert first.launched == [("ping", None)]
    assert second.launched == [("ping", None)]
    assert first.schedules.next_wake() == at(3600)


async def test_a_catch_up_run_counts_as_the_start_up_run() -> None:
    store = MemoryTaskStorage()
    entry = every(60, missed="run_once", run_on_startup=True)
    await store.claim_slot(
        "ping", at(60), TaskRecord(task_id="old", func_name="ping", created_at=T0)
    )

    instance = Instance(store, entry)
    await instance.schedules.start(at(630))

    assert instance.launched == [("ping", at(600))]


class FailingSlots(MemoryTaskStorage):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        return await super().claim_slot(entry, slot, record)


async def test_a_claim_that_fails_is_retried_soon(caplog: pytest.LogCaptureFixture) -> None:
    store = FailingSlots()
    instance = Instance(store, every(60))
    await instance.schedules.start(at(0))
    store.failures = 1

    assert await instance.schedules.fire_due(at(60)) == 0
    assert instance.schedules.next_wake() == at(60) + CLAIM_RETRY
    assert await instance.schedules.fire_due(at(61)) == 1

    assert instance.launched == [("ping", at(60))]
    assert "could not claim slot" in caplog.text


async def test_entries_added_after_start_are_planned_from_their_next_slot() -> None:
    instance = Instance(MemoryTaskStorage())
    await instance.schedules.start(at(0))

    instance.schedules.add(every(30, name="late"), at(45))

    assert instance.schedules.next_due("late") == at(60)
    assert await instance.schedules.fire_due(at(60)) == 1


class LostAnswer(MemoryTaskStorage):
    """Writes the first claim, then fails as if the connection dropped before the answer."""

    lose_next = True

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        won = await super().claim_slot(entry, slot, record)
        if self.lose_next:
            self.lose_next = False
            raise ConnectionError("connection reset before the reply")
        return won


async def test_a_claim_whose_answer_was_lost_still_runs_exactly_once() -> None:
    store = LostAnswer()
    instance = Instance(store, every(60))
    await instance.schedules.start(at(0))

    assert await instance.schedules.fire_due(at(60)) == 0  # stored, but we were not told
    assert instance.schedules.next_wake() == at(60) + CLAIM_RETRY
    assert await instance.schedules.fire_due(at(61)) == 1  # the same claim, tried again
    assert await instance.schedules.fire_due(at(62)) == 0

    assert instance.launched == [("ping", at(60))]
    assert len(await store.unfinished(limit=10)) == 1
