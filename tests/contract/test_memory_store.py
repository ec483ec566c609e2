"""The in-memory store keeps its memory bounded by forgetting the oldest finished tasks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskQuery

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def done(task_id: str, *, created: float, end: float) -> TaskRecord:
    record = TaskRecord(task_id=task_id, func_name="f", created_at=at(created))
    record.start(at(created))
    record.succeed(at(end))
    return record


async def stored_ids(store: MemoryTaskStorage) -> set[str]:
    page = await store.query(TaskQuery(), limit=1000)
    return {record.task_id for record in page.items}


async def test_beyond_the_limit_the_tasks_that_ended_first_are_forgotten() -> None:
    store = MemoryTaskStorage(max_finished=3)
    pending = TaskRecord(task_id="pending", func_name="f", created_at=T0)
    # Created first but ended last: eviction follows the end time.
    slow = done("slow", created=0, end=50)

    await store.save([pending, slow, done("a", created=1, end=2), done("b", created=2, end=3)])
    await store.save([done("c", created=3, end=4), done("d", created=4, end=5)])

    assert await stored_ids(store) == {"pending", "slow", "c", "d"}


async def test_saving_a_finished_task_again_does_not_count_it_twice() -> None:
    store = MemoryTaskStorage(max_finished=2)
    first = done("first", created=0, end=1)
    for _ in range(5):
        await store.save([first])

    await store.save([done("second", created=1, end=2)])
    assert await stored_ids(store) == {"first", "second"}

    await store.save([done("third", created=2, end=3)])
    assert await stored_ids(store) == {"second", "third"}


async def test_live_tasks_are_never_evicted() -> None:
    store = MemoryTaskStorage(max_finished=0)
    live = [TaskRecord(task_id=f"p{n}", func_name="f", created_at=at(n)) for n in range(5)]

    await store.save([*live, done("finished", created=0, end=1)])

    assert await stored_ids(store) == {f"p{n}" for n in range(5)}


async def test_an_evicted_task_releases_its_idempotency_key() -> None:
    store = MemoryTaskStorage(max_finished=1)
    await store.reserve_idempotency_key("order-1", "old")
    await store.save([done("old", created=0, end=1)])

    await store.save([done("newer", created=1, end=2)])

    assert await store.reserve_idempotency_key("order-1", "again") == "again"


def test_the_memory_store_is_not_durable() -> None:
    assert MemoryTaskStorage().durable is False
