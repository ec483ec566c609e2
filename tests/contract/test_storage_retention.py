"""Contract: unfinished work is found, old history is pruned, durable history survives restarts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def task(task_id: str, created: float) -> TaskRecord:
    return TaskRecord(task_id=task_id, func_name="f", created_at=at(created))


def ended(task_id: str, created: float, end: float, status: TaskStatus) -> TaskRecord:
    record = task(task_id, created)
    record.start(at(created))
    if status is TaskStatus.SUCCESS:
        record.succeed(at(end))
    elif status is TaskStatus.FAILED:
        record.fail(at(end), "boom")
    elif status is TaskStatus.INTERRUPTED:
        record.interrupt(at(end))
    else:
        record.cancel(at(end))
    return record


def running(task_id: str, created: float) -> TaskRecord:
    record = task(task_id, created)
    record.start(at(created))
    return record


async def test_unfinished_lists_pending_and_running_tasks_oldest_first(
    storage: TaskStorage,
) -> None:
    await storage.save(
        [
            task("pending-late", 5),
            running("running", 3),
            ended("done", 1, 2, TaskStatus.SUCCESS),
            ended("interrupted", 0, 2, TaskStatus.INTERRUPTED),
            task("pending-early", 2),
        ]
    )

    found = await storage.unfinished(limit=10)
    assert [record.task_id for record in found] == ["pending-early", "running", "pending-late"]
    first_two = await storage.unfinished(limit=2)
    assert [record.task_id for record in first_two] == ["pending-early", "running"]


async def test_pruning_deletes_only_tasks_that_finished_before_the_cutoff(
    storage: TaskStorage,
) -> None:
    await storage.save(
        [
            ended("old-success", 0, 1, TaskStatus.SUCCESS),
            ended("old-failure", 0, 2, TaskStatus.FAILED),
            ended("old-interrupted", 0, 3, TaskStatus.INTERRUPTED),
            ended("recent", 0, 10, TaskStatus.SUCCESS),
            ended("at-cutoff", 0, 5, TaskStatus.CANCELLED),
            task("old-pending", 0),
            running("old-running", 0),
        ]
    )

    deleted = await storage.delete_finished_before(at(5))

    assert deleted == 3
    page = await storage.query(TaskQuery(), limit=100)
    remaining = {record.task_id for record in page.items}
    assert remaining == {"recent", "at-cutoff", "old-pending", "old-running"}
    assert await storage.get("old-success") is None
    assert await storage.delete_finished_before(at(5)) == 0


async def test_a_pruned_task_no_longer_holds_its_idempotency_key(storage: TaskStorage) -> None:
    await storage.save([ended("old", 0, 1, TaskStatus.SUCCESS)])
    await storage.reserve_idempotency_key("order-1", "old")

    await storage.delete_finished_before(at(5))

    assert await storage.reserve_idempotency_key("order-1", "new") == "new"


async def test_a_pruned_task_is_gone_from_tag_queries(storage: TaskStorage) -> None:
    old = ended("old", 0, 1, TaskStatus.SUCCESS)
    old.tags = {"tenant": "acme"}
    await storage.save([old])

    await storage.delete_finished_before(at(5))

    page = await storage.query(TaskQuery(tag=("tenant", "acme")), limit=10)
    assert page.items == []


async def test_a_durable_store_keeps_history_across_a_restart(
    storage: TaskStorage, restart: Callable[[], Awaitable[TaskStorage]]
) -> None:
    if not storage.durable:
        pytest.skip("this store keeps nothing once closed, by design")
    record = ended("done", 0, 1, TaskStatus.SUCCESS)
    record.tags = {"tenant": "acme"}
    await storage.save([record, task("pending", 2)])
    await storage.reserve_idempotency_key("order-1", "done")

    reopened = await restart()

    stored = await reopened.get("done")
    assert stored is not None
    assert stored.status is TaskStatus.SUCCESS
    page = await reopened.query(TaskQuery(tag=("tenant", "acme")), limit=10)
    assert [r.task_id for r in page.items] == ["done"]
    assert [r.task_id for r in await reopened.unfinished(limit=10)] == ["pending"]
    assert await reopened.reserve_idempotency_key("order-1", "again") == "done"


async def test_pruning_never_touches_unfinished_tasks_however_old(storage: TaskStorage) -> None:
    """A task pending for 90 days (or running that long) survives a 30-day retention."""
    days = 24 * 60
    stuck_pending = task("pending-90-days", 0)
    stuck_pending.tags = {"tenant": "acme"}
    await storage.save(
        [stuck_pending, running("running-90-days", 0), ended("old-done", 0, 1, TaskStatus.SUCCESS)]
    )
    await storage.reserve_idempotency_key("order-7", "pending-90-days")

    deleted = await storage.delete_finished_before(at(90 * days - 30 * days))

    assert deleted == 1
    survivors = {record.task_id for record in await storage.unfinished(limit=10)}
    assert survivors == {"pending-90-days", "running-90-days"}
    page = await storage.query(TaskQuery(tag=("tenant", "acme")), limit=10)
    assert [record.task_id for record in page.items] == ["pending-90-days"]
    assert await storage.reserve_idempotency_key("order-7", "other") == "pending-90-days"


async def test_pruning_many_tasks_deletes_them_all_in_one_call(storage: TaskStorage) -> None:
    """More than one batch of old tasks (stores delete in bounded batches) goes in one call,
    with their tags and keys, and newer or unfinished ones stay."""
    doomed = []
    for number in range(1203):
        record = ended(f"old-{number:04d}", 0, 1 + number / 10_000, TaskStatus.SUCCESS)
        record.tags = {"batch": "old"}
        doomed.append(record)
    kept = [ended(f"new-{number}", 0, 10, TaskStatus.FAILED) for number in range(3)]
    await storage.save([*doomed, *kept, task("waiting", 0)])
    await storage.reserve_idempotency_key("key-old", "old-0042")

    deleted = await storage.delete_finished_before(at(5))

    assert deleted == 1203
    page = await storage.query(TaskQuery(), limit=100)
    assert {record.task_id for record in page.items} == {"new-0", "new-1", "new-2", "waiting"}
    assert (await storage.query(TaskQuery(tag=("batch", "old")), limit=10)).items == []
    assert await storage.reserve_idempotency_key("key-old", "fresh") == "fresh"
    assert await storage.delete_finished_before(at(5)) == 0


async def test_a_task_that_took_no_time_at_all_is_pruned_too(storage: TaskStorage) -> None:
    instant = ended("instant", 0, 0, TaskStatus.SUCCESS)
    assert instant.duration == 0
    await storage.save([instant, ended("slow", 0, 1, TaskStatus.SUCCESS)])

    assert await storage.delete_finished_before(at(5)) == 2

    assert await storage.get("instant") is None
    assert (await storage.metrics(TaskQuery())).total == 0
