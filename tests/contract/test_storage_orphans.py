"""Contract: the work of dead instances is taken over in batches, each task by one survivor."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def task(task_id: str, owner: str | None, *, created: int = 0) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        func_name="f",
        created_at=T0 + timedelta(seconds=created),
        instance_id=owner,
    )


def running(task_id: str, owner: str | None, *, created: int = 0) -> TaskRecord:
    record = task(task_id, owner, created=created)
    record.start(T0 + timedelta(seconds=created))
    return record


def finished(task_id: str, owner: str | None) -> TaskRecord:
    record = running(task_id, owner)
    record.succeed(T0 + timedelta(seconds=1))
    return record


async def test_only_unfinished_tasks_of_dead_or_no_owner_are_taken_oldest_first(
    storage: TaskStorage,
) -> None:
    await storage.save(
        [
            task("dead-pending", "dead", created=3),
            running("dead-running", "dead", created=2),
            task("unowned", None, created=1),
            task("alive", "alive"),
            task("mine", "me"),
            finished("dead-finished", "dead"),
        ]
    )

    claimed = await storage.claim_orphans("me", frozenset({"alive"}), limit=10)

    assert [record.task_id for record in claimed] == ["unowned", "dead-running", "dead-pending"]
    assert all(record.instance_id == "me" for record in claimed)
    assert claimed[1].status.value == "running"
    for task_id in ("unowned", "dead-running", "dead-pending", "mine"):
        stored = await storage.get(task_id)
        assert stored is not None and stored.instance_id == "me"
    alive = await storage.get("alive")
    assert alive is not None and alive.instance_id == "alive"
    done = await storage.get("dead-finished")
    assert done is not None and done.instance_id == "dead"


async def test_a_claimed_orphan_is_not_returned_again(storage: TaskStorage) -> None:
    await storage.save([task("orphan", "dead")])

    assert len(await storage.claim_orphans("me", frozenset(), limit=10)) == 1
    assert await storage.claim_orphans("me", frozenset(), limit=10) == []


async def test_the_limit_caps_one_sweep_and_the_next_sweep_continues(
    storage: TaskStorage,
) -> None:
    await storage.save([task(f"t{n}", "dead", created=n) for n in range(5)])

    first = await storage.claim_orphans("me", frozenset(), limit=2)
    second = await storage.claim_orphans("me", frozenset(), limit=10)

    assert [record.task_id for record in first] == ["t0", "t1"]
    assert [record.task_id for record in second] == ["t2", "t3", "t4"]


async def test_a_limit_below_one_is_refused(storage: TaskStorage) -> None:
    with pytest.raises(ValueError, match="limit"):
        await storage.claim_orphans("me", frozenset(), limit=0)


async def test_survivors_sweeping_together_split_the_orphans_without_overlap(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    orphans = [task(f"orphan-{n:03d}", "dead", created=n) for n in range(60)]
    await storage.save(orphans)
    sweepers = [(storage, "survivor-a"), (peer, "survivor-b")] * 3
    survivors = frozenset({"survivor-a", "survivor-b"})

    async def sweep(client: TaskStorage, owner: str) -> list[tuple[str, str]]:
        taken: list[tuple[str, str]] = []
        while batch := await client.claim_orphans(owner, survivors, limit=7):
            taken.extend((record.task_id, owner) for record in batch)
        return taken

    results = await asyncio.gather(*(sweep(client, owner) for client, owner in sweepers))

    taken = [pair for result in results for pair in result]
    assert sorted(task_id for task_id, _ in taken) == [r.task_id for r in orphans]
    for task_id, owner in taken:
        stored = await peer.get(task_id)
        assert stored is not None and stored.instance_id == owner
