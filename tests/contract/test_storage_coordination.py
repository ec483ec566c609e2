"""Contract: claims, idempotency keys and leases hold between instances sharing one store."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RACERS = 20


def task(task_id: str, *, instance_id: str | None = None) -> TaskRecord:
    return TaskRecord(task_id=task_id, func_name="f", created_at=T0, instance_id=instance_id)


async def owner_of(storage: TaskStorage, task_id: str) -> str | None:
    record = await storage.get(task_id)
    assert record is not None
    return record.instance_id


# -- claims ----------------------------------------------------------------------------------


async def test_a_claim_succeeds_only_while_the_expected_owner_still_holds_the_task(
    storage: TaskStorage,
) -> None:
    await storage.save([task("t1")])

    assert await storage.claim("t1", "a", None) is True
    assert await storage.claim("t1", "b", None) is False
    assert await owner_of(storage, "t1") == "a"
    assert await storage.claim("t1", "b", "a") is True
    assert await storage.claim("t1", "c", "a") is False
    assert await owner_of(storage, "t1") == "b"


async def test_claiming_an_unknown_task_fails(storage: TaskStorage) -> None:
    assert await storage.claim("missing", "a", None) is False


async def test_of_many_instances_racing_for_an_orphan_exactly_one_wins(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save([task("orphan", instance_id="dead")])
    clients = [storage, peer] * (RACERS // 2)

    results = await asyncio.gather(
        *(client.claim("orphan", f"survivor-{n}", "dead") for n, client in enumerate(clients))
    )

    winners = [f"survivor-{n}" for n, won in enumerate(results) if won]
    assert len(winners) == 1
    assert await owner_of(peer, "orphan") == winners[0]


async def test_of_many_instances_racing_for_an_unowned_task_exactly_one_wins(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save([task("unowned")])
    clients = [storage, peer] * (RACERS // 2)

    results = await asyncio.gather(
        *(client.claim("unowned", f"instance-{n}", None) for n, client in enumerate(clients))
    )

    assert results.count(True) == 1
    assert await owner_of(storage, "unowned") == f"instance-{results.index(True)}"


# -- idempotency keys ------------------------------------------------------------------------


async def test_the_first_task_to_reserve_a_key_keeps_it(storage: TaskStorage) -> None:
    first = task("first")
    await storage.save([first])

    assert await storage.reserve_idempotency_key("order-1", "first") == "first"
    assert await storage.reserve_idempotency_key("order-1", "second") == "first"
    assert await storage.reserve_idempotency_key("order-1", "first") == "first"
    assert await storage.reserve_idempotency_key("order-2", "second") == "second"


async def test_a_holder_not_saved_yet_keeps_its_key(storage: TaskStorage) -> None:
    assert await storage.reserve_idempotency_key("order-1", "being-enqueued") == "being-enqueued"

    assert await storage.reserve_idempotency_key("order-1", "second") == "being-enqueued"


@pytest.mark.parametrize("outcome", ["fail", "cancel", "reject"])
async def test_a_task_that_did_not_go_through_gives_its_key_up(
    storage: TaskStorage, outcome: str
) -> None:
    holder = task("first")
    await storage.reserve_idempotency_key("order-1", "first")
    if outcome == "fail":
        holder.start(T0)
        holder.fail(T0, "boom")
    elif outcome == "cancel":
        holder.cancel(T0)
    else:
        holder.reject(T0, "queue full")
    await storage.save([holder])

    assert await storage.reserve_idempotency_key("order-1", "second") == "second"
    assert await storage.reserve_idempotency_key("order-1", "third") == "second"


@pytest.mark.parametrize("outcome", ["succeed", "interrupt", "start"])
async def test_a_task_that_ran_or_may_still_run_keeps_its_key(
    storage: TaskStorage, outcome: str
) -> None:
    holder = task("first")
    await storage.reserve_idempotency_key("order-1", "first")
    holder.start(T0)
    if outcome == "succeed":
        holder.succeed(T0)
    elif outcome == "interrupt":
        holder.interrupt(T0)
    await storage.save([holder])

    assert await storage.reserve_idempotency_key("order-1", "second") == "first"


async def test_of_many_racing_reservations_one_task_gets_the_key(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    clients = [storage, peer] * (RACERS // 2)

    holders = await asyncio.gather(
        *(client.reserve_idempotency_key("order-1", f"t{n}") for n, client in enumerate(clients))
    )

    assert len(set(holders)) == 1
    assert holders[0] in {f"t{n}" for n in range(RACERS)}


async def test_of_many_racing_takeovers_of_a_failed_holder_one_wins(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    failed = task("failed")
    failed.start(T0)
    failed.fail(T0, "boom")
    await storage.save([failed])
    await storage.reserve_idempotency_key("order-1", "failed")
    clients = [storage, peer] * (RACERS // 2)

    holders = await asyncio.gather(
        *(client.reserve_idempotency_key("order-1", f"t{n}") for n, client in enumerate(clients))
    )

    assert len(set(holders)) == 1
    assert holders[0] in {f"t{n}" for n in range(RACERS)}


# -- instance leases -------------------------------------------------------------------------


async def test_a_lease_lasts_its_ttl_and_a_heartbeat_renews_it(storage: TaskStorage) -> None:
    await storage.heartbeat("a", T0, ttl=30)
    await storage.heartbeat("b", T0, ttl=10)

    assert await storage.live_instances(T0 + timedelta(seconds=9)) == {"a", "b"}
    assert await storage.live_instances(T0 + timedelta(seconds=10)) == {"a"}
    assert await storage.live_instances(T0 + timedelta(seconds=30)) == frozenset()

    await storage.heartbeat("a", T0 + timedelta(seconds=25), ttl=30)
    assert await storage.live_instances(T0 + timedelta(seconds=50)) == {"a"}


async def test_leases_are_seen_by_every_instance(storage: TaskStorage, peer: TaskStorage) -> None:
    await storage.heartbeat("a", T0, ttl=30)
    await peer.heartbeat("b", T0, ttl=30)

    assert await storage.live_instances(T0) == await peer.live_instances(T0) == {"a", "b"}


async def test_a_released_instance_is_no_longer_live(storage: TaskStorage) -> None:
    await storage.heartbeat("a", T0, ttl=30)
    await storage.heartbeat("b", T0, ttl=30)

    await storage.release_instance("a")

    assert await storage.live_instances(T0) == {"b"}


async def test_instances_saving_new_tagged_tasks_at_once_all_succeed(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    # On MySQL/MariaDB under REPEATABLE READ, the gap locks of the tag rows made such
    # writes deadlock each other.
    batches = [
        [
            TaskRecord(
                task_id=f"burst-{n}-{k}",
                func_name="send_email",
                created_at=T0,
                tags={"tenant": f"t{n % 3}", "kind": "mail"},
            )
            for k in range(3)
        ]
        for n in range(40)
    ]

    await asyncio.gather(
        *(client.save(batch) for client, batch in zip([storage, peer] * 20, batches, strict=True))
    )

    page = await storage.query(TaskQuery(tag=("kind", "mail")), limit=1000)
    assert len(page.items) == 120


async def test_instances_beating_at_once_all_stay_live(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    clients = [storage, peer] * 6

    await asyncio.gather(
        *(client.heartbeat(f"instance-{n}", T0, ttl=30) for n, client in enumerate(clients))
    )

    assert await peer.live_instances(T0) == {f"instance-{n}" for n in range(len(clients))}
