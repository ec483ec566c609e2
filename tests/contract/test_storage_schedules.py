"""Contract: schedule slots and one-off runs are claimed once, with the task they start."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from fastapi_taskflow.domain.schedule import SLOT_HISTORY
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run_of(task_id: str, func_name: str = "nightly_report") -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        func_name=func_name,
        created_at=at(0),
        source="scheduled",
        instance_id="instance-a",
        tags={"slot": task_id},
    )


def one_off(run_key: str, run_at: float, *, token: str = "v1", **fields: object) -> ScheduledOnce:
    values: dict[str, object] = {
        "func_name": "expire_trial",
        "args": (42, "acme"),
        "kwargs": {"notify": True, "when": at(5)},
        "tags": {"tenant": "acme"},
        "priority": 3,
        "idempotency_key": f"expire-{run_key}",
        "created_at": at(0),
        "timeout": 4.5,
        "queue": "reports",
    }
    values.update(fields)
    return ScheduledOnce(run_key=run_key, run_at=at(run_at), token=token, **values)  # type: ignore[arg-type]


# -- periodic slots ------------------------------------------------------------------------


async def test_a_slot_is_claimed_once_with_the_task_it_starts(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    assert await storage.claim_slot("nightly", at(60), run_of("first")) is True
    assert await peer.claim_slot("nightly", at(60), run_of("again")) is False

    stored = await peer.get("first")
    assert stored is not None
    assert stored.status is TaskStatus.PENDING
    assert stored.source == "scheduled"
    assert stored.tags == {"slot": "first"}
    assert await peer.get("again") is None  # a lost claim writes nothing
    claims = await peer.last_slots(["nightly"])
    assert claims["nightly"].slot == at(60)
    assert claims["nightly"].task_id == "first"


async def test_a_slot_far_behind_the_last_claimed_one_is_refused(storage: TaskStorage) -> None:
    assert await storage.claim_slot("nightly", at(7200), run_of("later")) is True

    # A claim held up for longer than the history kept (its process frozen halfway through)
    # must not fire a slot that may have run and been forgotten since.
    too_old = at(7200) - SLOT_HISTORY - timedelta(seconds=1)
    assert await storage.claim_slot("nightly", too_old, run_of("stale")) is False
    assert await storage.get("stale") is None

    assert await storage.claim_slot("nightly", at(7260), run_of("next")) is True
    claims = await storage.last_slots(["nightly"])
    assert (claims["nightly"].slot, claims["nightly"].task_id) == (at(7260), "next")
    assert await storage.claim_slot("nightly", at(7260), run_of("again")) is False


async def test_entries_are_claimed_independently(storage: TaskStorage) -> None:
    assert await storage.claim_slot("nightly", at(60), run_of("n1")) is True
    assert await storage.claim_slot("hourly", at(60), run_of("h1", "hourly")) is True

    claims = await storage.last_slots(["nightly", "hourly", "never-fired"])
    assert {name: claim.task_id for name, claim in claims.items()} == {
        "nightly": "n1",
        "hourly": "h1",
    }


async def test_slots_keep_microseconds_and_come_back_in_utc(storage: TaskStorage) -> None:
    slot = datetime(2026, 3, 29, 3, 0, 0, 300_000, tzinfo=ZoneInfo("Europe/Paris"))
    assert await storage.claim_slot("fast", slot, run_of("a")) is True
    assert await storage.claim_slot("fast", slot + timedelta(microseconds=1), run_of("b"))
    assert await storage.claim_slot("fast", slot, run_of("c")) is False

    claim = (await storage.last_slots(["fast"]))["fast"]
    assert claim.slot == slot + timedelta(microseconds=1)
    assert claim.slot.utcoffset() == timedelta(0)


async def test_of_many_clients_racing_for_one_slot_exactly_one_wins(
    storage: TaskStorage, peer: TaskStorage, caplog: pytest.LogCaptureFixture
) -> None:
    clients = [storage, peer] * 10

    results = await asyncio.gather(
        *(
            client.claim_slot("every-second", at(1), run_of(f"racer-{n}"))
            for n, client in enumerate(clients)
        )
    )

    assert results.count(True) == 1
    winner = f"racer-{results.index(True)}"
    stored = [await storage.get(f"racer-{n}") for n in range(len(clients))]
    assert [record.task_id for record in stored if record is not None] == [winner]
    assert (await storage.last_slots(["every-second"]))["every-second"].task_id == winner
    # Losing a race is expected, not worth a warning (MySQL drivers log insert warnings).
    assert "Duplicate entry" not in caplog.text


async def test_a_claim_repeated_after_its_answer_was_lost_reports_its_win(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    record = run_of("first")
    assert await storage.claim_slot("nightly", at(60), record) is True

    # The connection dropped before the answer arrived; the caller tries again.
    assert await storage.claim_slot("nightly", at(60), record) is True
    assert await peer.claim_slot("nightly", at(60), run_of("other")) is False
    await storage.save_one_off(one_off("trial-42", 60))
    fired = run_of("fired")
    assert await storage.claim_one_off("trial-42", "v1", fired) is True
    assert await storage.claim_one_off("trial-42", "v1", fired) is True
    assert await peer.claim_one_off("trial-42", "v1", run_of("late")) is False
    assert sorted(r.task_id for r in await storage.unfinished(limit=10)) == ["fired", "first"]


async def test_claimed_slots_survive_a_restart(
    storage: TaskStorage, restart: Callable[[], Awaitable[TaskStorage]]
) -> None:
    if not storage.durable:
        pytest.skip("this store keeps nothing once closed, by design")
    assert await storage.claim_slot("nightly", at(60), run_of("first"))

    reopened = await restart()

    assert (await reopened.last_slots(["nightly"]))["nightly"].slot == at(60)
    assert await reopened.claim_slot("nightly", at(60), run_of("again")) is False
    assert [record.task_id for record in await reopened.unfinished(limit=10)] == ["first"]


# -- one-off runs --------------------------------------------------------------------------


async def test_a_one_off_run_is_stored_whole(storage: TaskStorage, peer: TaskStorage) -> None:
    run = one_off("trial-42", 3600)
    await storage.save_one_off(run)

    assert list(await peer.one_offs_due(at(7200), limit=10)) == [run]
    assert await peer.count_one_offs() == 1


async def test_due_runs_come_soonest_first_and_only_before_the_bound(
    storage: TaskStorage,
) -> None:
    for key, when in [("c", 30), ("a", 10), ("b", 10), ("late", 100)]:
        await storage.save_one_off(one_off(key, when))

    due = await storage.one_offs_due(at(30), limit=10)
    assert [run.run_key for run in due] == ["a", "b"]  # run_at == before is not yet due
    first = await storage.one_offs_due(at(1000), limit=3)
    assert [run.run_key for run in first] == ["a", "b", "c"]
    assert await storage.count_one_offs() == 4


async def test_saving_the_same_run_key_replaces_the_run(storage: TaskStorage) -> None:
    await storage.save_one_off(one_off("trial-42", 3600, token="v1"))
    moved = one_off("trial-42", 60, token="v2", args=(7,), kwargs={}, tags={})
    await storage.save_one_off(moved)

    assert list(await storage.one_offs_due(at(10_000), limit=10)) == [moved]
    assert await storage.count_one_offs() == 1


async def test_deleting_a_run(storage: TaskStorage) -> None:
    await storage.save_one_off(one_off("trial-42", 60))

    assert await storage.delete_one_off("trial-42") is True
    assert await storage.delete_one_off("trial-42") is False
    assert list(await storage.one_offs_due(at(10_000), limit=10)) == []


async def test_claiming_a_run_removes_it_and_stores_its_task(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save_one_off(one_off("trial-42", 60))

    assert await storage.claim_one_off("trial-42", "v1", run_of("fired", "expire_trial"))
    assert await peer.claim_one_off("trial-42", "v1", run_of("twice", "expire_trial")) is False

    assert await peer.count_one_offs() == 0
    assert (await peer.get("fired")) is not None
    assert await peer.get("twice") is None


async def test_a_replaced_run_cannot_be_claimed_by_its_old_version(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save_one_off(one_off("trial-42", 60, token="v1"))
    await peer.save_one_off(one_off("trial-42", 600, token="v2"))

    assert await storage.claim_one_off("trial-42", "v1", run_of("stale")) is False
    assert await storage.get("stale") is None
    assert [run.token for run in await storage.one_offs_due(at(10_000), limit=10)] == ["v2"]
    assert await storage.claim_one_off("trial-42", "v2", run_of("current")) is True


async def test_a_cancelled_run_cannot_be_claimed(storage: TaskStorage) -> None:
    await storage.save_one_off(one_off("trial-42", 60))
    await storage.delete_one_off("trial-42")

    assert await storage.claim_one_off("trial-42", "v1", run_of("ghost")) is False
    assert await storage.get("ghost") is None


async def test_of_many_clients_racing_for_one_run_exactly_one_wins(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save_one_off(one_off("auction-9", 60))
    clients = [storage, peer] * 10

    results = await asyncio.gather(
        *(
            client.claim_one_off("auction-9", "v1", run_of(f"racer-{n}"))
            for n, client in enumerate(clients)
        )
    )

    assert results.count(True) == 1
    stored = [await storage.get(f"racer-{n}") for n in range(len(clients))]
    assert len([record for record in stored if record is not None]) == 1


async def test_encrypted_runs_keep_only_the_sealed_payload(storage: TaskStorage) -> None:
    sealed = one_off("secret", 60, args=(), kwargs={}, encrypted_payload=b"gAAAA-token")
    await storage.save_one_off(sealed)

    (stored,) = await storage.one_offs_due(at(10_000), limit=10)
    assert stored.encrypted_payload == b"gAAAA-token"
    assert (stored.args, stored.kwargs) == ((), {})


async def test_one_off_runs_survive_a_restart(
    storage: TaskStorage, restart: Callable[[], Awaitable[TaskStorage]]
) -> None:
    if not storage.durable:
        pytest.skip("this store keeps nothing once closed, by design")
    run = one_off("trial-42", 3600)
    await storage.save_one_off(run)

    reopened = await restart()

    assert list(await reopened.one_offs_due(at(7200), limit=10)) == [run]
    assert await reopened.claim_one_off("trial-42", "v1", run_of("fired")) is True
