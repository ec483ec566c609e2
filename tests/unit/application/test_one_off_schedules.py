"""One-off runs on a fake clock: fired once, replaced and cancelled, with bounded memory."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.one_off_schedules import CLAIM_RETRY, OneOffSchedules
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(key: str, seconds: float, token: str = "v1", func_name: str = "expire") -> ScheduledOnce:
    return ScheduledOnce(
        run_key=key,
        func_name=func_name,
        run_at=at(seconds),
        token=token,
        args=(key,),
        created_at=T0,
    )


class Instance:
    def __init__(self, store: MemoryTaskStorage, **options: object) -> None:
        self.launched: list[tuple[str, ...]] = []
        self.known = {"expire"}
        self.runs = OneOffSchedules(
            runs=store,
            new_run=self._new_run,
            launch=lambda record: self.launched.append(record.args),
            **options,  # type: ignore[arg-type]
        )

    def _new_run(self, scheduled: ScheduledOnce) -> TaskRecord | None:
        if scheduled.func_name not in self.known:
            return None
        return TaskRecord(
            task_id=f"task-{next(_ids)}",
            func_name=scheduled.func_name,
            created_at=T0,
            args=scheduled.args,
        )


async def test_a_run_fires_at_its_time_and_only_once() -> None:
    store = MemoryTaskStorage()
    await store.save_one_off(run("trial-1", 30))
    instance = Instance(store)
    await instance.runs.refill(at(0))

    assert instance.runs.next_wake() == at(30)
    assert await instance.runs.fire_due(at(29)) == 0
    assert await instance.runs.fire_due(at(30)) == 1
    assert await instance.runs.fire_due(at(31)) == 0

    assert instance.launched == [("trial-1",)]
    assert await store.count_one_offs() == 0


async def test_a_run_due_in_the_past_fires_on_the_first_round() -> None:
    store = MemoryTaskStorage()
    await store.save_one_off(run("overdue", -3600))  # due while every instance was down
    instance = Instance(store)
    await instance.runs.refill(at(0))

    assert await instance.runs.fire_due(at(0)) == 1


async def test_of_several_instances_holding_a_run_one_fires_it() -> None:
    store = MemoryTaskStorage()
    await store.save_one_off(run("auction-9", 10))
    instances = [Instance(store) for _ in range(3)]
    for instance in instances:
        await instance.runs.refill(at(0))

    for instance in instances:
        await instance.runs.fire_due(at(10))

    assert [args for instance in instances for args in instance.launched] == [("auction-9",)]


async def test_a_replaced_run_fires_once_at_its_new_time() -> None:
    store = MemoryTaskStorage()
    first = run("trial-1", 30, token="v1")
    await store.save_one_off(first)
    holder, mover = Instance(store), Instance(store)
    await holder.runs.refill(at(0))
    await mover.runs.refill(at(0))

    moved = run("trial-1", 90, token="v2")
    await store.save_one_off(moved)
    mover.runs.arm(moved, at(1))

    assert await holder.runs.fire_due(at(30)) == 0  # its copy is the old version
    assert await mover.runs.fire_due(at(30)) == 0
    assert await mover.runs.fire_due(at(90)) == 1
    assert holder.launched == [] and mover.launched == [("trial-1",)]


async def test_a_cancelled_run_never_fires() -> None:
    store = MemoryTaskStorage()
    await store.save_one_off(run("trial-1", 30))
    local, remote = Instance(store), Instance(store)
    await local.runs.refill(at(0))
    await remote.runs.refill(at(0))

    await store.delete_one_off("trial-1")
    local.runs.disarm("trial-1")

    assert await local.runs.fire_due(at(30)) == 0
    assert await remote.runs.fire_due(at(30)) == 0  # still held there, but the claim fails
    assert local.launched == remote.launched == []


async def test_memory_holds_only_runs_due_soon_however_many_are_stored() -> None:
    store = MemoryTaskStorage()
    for n in range(500):
        await store.save_one_off(run(f"run-{n:03}", n * 10))
    instance = Instance(
        store, horizon=timedelta(seconds=100), refill_every=timedelta(seconds=50), max_armed=5
    )
    await instance.runs.refill(at(0))
    assert instance.runs.armed == 5

    now = at(0)
    most_armed = 0
    while instance.launched != [(f"run-{n:03}",) for n in range(500)]:
        wake = instance.runs.next_wake()
        assert wake is not None and wake <= now + timedelta(seconds=50)
        now = max(now, wake)
        await instance.runs.fire_due(now)
        most_armed = max(most_armed, instance.runs.armed)
        assert now < at(6000), "runs were left behind"

    assert most_armed <= 5
    assert await store.count_one_offs() == 0


async def test_runs_beyond_the_horizon_are_armed_by_a_later_refill() -> None:
    store = MemoryTaskStorage()
    instance = Instance(store, horizon=timedelta(seconds=60), refill_every=timedelta(seconds=30))
    await instance.runs.refill(at(0))
    later = run("later", 100)
    await store.save_one_off(later)
    instance.runs.arm(later, at(0))

    assert instance.runs.armed == 0
    assert instance.runs.next_wake() == at(30)
    await instance.runs.fire_due(at(30))  # refills: 100 s is not within 30 + 60 yet
    assert instance.runs.armed == 0
    await instance.runs.fire_due(at(60))
    assert instance.runs.armed == 1
    assert await instance.runs.fire_due(at(100)) == 1


async def test_a_run_of_an_unknown_function_is_left_for_an_instance_that_knows_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryTaskStorage()
    await store.save_one_off(run("new-feature", 5, func_name="added_in_next_release"))
    old, new = Instance(store), Instance(store)
    new.known.add("added_in_next_release")
    await old.runs.refill(at(0))
    await new.runs.refill(at(0))

    assert await old.runs.fire_due(at(5)) == 0
    assert await new.runs.fire_due(at(5)) == 1
    assert "has not registered" in caplog.text


class FailingRuns(MemoryTaskStorage):
    failures = 0

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        return await super().claim_one_off(run_key, token, record)


async def test_a_claim_that_fails_is_retried_soon() -> None:
    store = FailingRuns()
    await store.save_one_off(run("trial-1", 30))
    instance = Instance(store)
    await instance.runs.refill(at(0))
    store.failures = 1

    assert await instance.runs.fire_due(at(30)) == 0
    assert instance.runs.next_wake() == at(30) + CLAIM_RETRY
    assert await instance.runs.fire_due(at(31)) == 1


class UnreadableRuns(MemoryTaskStorage):
    unreadable = True

    async def one_offs_due(self, before: datetime, *, limit: int) -> list[ScheduledOnce]:
        if self.unreadable:
            self.unreadable = False
            raise ConnectionError("database unreachable")
        return list(await super().one_offs_due(before, limit=limit))


async def test_runs_are_read_again_soon_when_storage_was_down_at_start_up() -> None:
    store = UnreadableRuns()
    await store.save_one_off(run("trial-1", 0))
    instance = Instance(store)

    await instance.runs.start(at(0))

    assert instance.runs.next_wake() == at(0) + CLAIM_RETRY
    assert await instance.runs.fire_due(at(1)) == 1


class LostAnswer(MemoryTaskStorage):
    lose_next = True

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        won = await super().claim_one_off(run_key, token, record)
        if self.lose_next:
            self.lose_next = False
            raise ConnectionError("connection reset before the reply")
        return won


async def test_a_claim_whose_answer_was_lost_still_runs_exactly_once() -> None:
    store = LostAnswer()
    await store.save_one_off(run("trial-1", 30))
    instance = Instance(store)
    await instance.runs.refill(at(0))

    assert await instance.runs.fire_due(at(30)) == 0
    assert await instance.runs.fire_due(at(31)) == 1

    assert instance.launched == [("trial-1",)]
    assert len(await store.unfinished(limit=10)) == 1


async def test_a_lost_answer_is_settled_even_after_a_refill_no_longer_finds_the_run() -> None:
    store = LostAnswer()
    await store.save_one_off(run("trial-1", 30))
    instance = Instance(store, refill_every=timedelta(seconds=1))
    await instance.runs.refill(at(0))

    assert await instance.runs.fire_due(at(30)) == 0  # it won, but the answer was lost
    assert await store.count_one_offs() == 0
    assert await instance.runs.fire_due(at(31)) == 1  # refilled, and tried again

    assert instance.launched == [("trial-1",)]


async def test_a_lost_answer_is_settled_when_the_run_was_stored_again_meanwhile() -> None:
    store = LostAnswer()
    await store.save_one_off(run("trial-1", 30, token="v1"))
    instance = Instance(store)
    await instance.runs.refill(at(0))
    assert await instance.runs.fire_due(at(30)) == 0  # v1 won, but the answer was lost

    again = run("trial-1", 30, token="v2")  # the caller scheduled the key once more
    await store.save_one_off(again)
    instance.runs.arm(again, at(30))
    assert await instance.runs.fire_due(at(31)) == 1

    assert instance.launched == [("trial-1",), ("trial-1",)]  # both versions ran, once each
    assert len(await store.unfinished(limit=10)) == 2
