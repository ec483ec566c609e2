"""Schedules through the task service: the loop on a fake clock, one-off runs, the overview."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.fernet import Fernet

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.domain.triggers import IntervalTrigger

from .conftest import Harness, wait_for

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
async def make_scheduling() -> AsyncIterator[Callable[..., Harness]]:
    """A harness whose clock moves only when the test advances it (the scheduler sleeps)."""
    made: list[Harness] = []

    def make(**config: Any) -> Harness:
        harness = Harness(**config)
        harness.clock.auto_advance = False
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.service.shutdown()


calls: list[tuple[Any, ...]] = []


async def ping(*args: Any) -> None:
    calls.append(args)


def process_task(value: object) -> None:
    """Runs in a worker process."""


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    calls.clear()


def scheduled(harness: Harness) -> list[TaskRecord]:
    """The scheduled tasks of the harness, oldest first."""
    records = [
        record for record in harness.service.recorder.store.list() if record.source == "scheduled"
    ]
    return sorted(records, key=lambda record: record.created_at)


async def advance(harness: Harness, seconds: float) -> None:
    harness.clock.advance(seconds)
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep again")
    await harness.service.scheduler.settle()
    await harness.idle()


async def test_a_periodic_entry_runs_as_a_scheduled_task_at_each_slot(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping)
    harness.service.add_schedule(ScheduleEntry(name="ping", trigger=IntervalTrigger(60)))
    await harness.service.startup()

    await advance(harness, 59)
    assert calls == []
    await advance(harness, 1)
    await advance(harness, 60)

    assert calls == [(), ()]
    runs = scheduled(harness)
    assert [record.status for record in runs] == [TaskStatus.SUCCESS] * 2
    assert "--- Scheduled run for the slot of 2026-01-01T00:01:00+00:00 ---" in runs[0].logs[0]


async def test_an_entry_added_after_start_up_starts_the_loop(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping)
    await harness.service.startup()
    assert not harness.service.scheduler.running

    harness.service.add_schedule(ScheduleEntry(name="ping", trigger=IntervalTrigger(10)))
    await wait_for(lambda: harness.service.scheduler.running, "the scheduler to start")
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 10)

    assert calls == [()]


async def test_a_schedule_must_name_a_registered_task(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    with pytest.raises(ValueError, match="registered task"):
        harness.service.add_schedule(ScheduleEntry(name="nope", trigger=IntervalTrigger(10)))


async def test_a_one_off_run_starts_once_at_its_time_with_its_arguments(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping)
    await harness.service.startup()

    stored = await harness.service.schedule_once(
        ping, ("acme", 3), {}, run_at=START + timedelta(seconds=30), run_key="trial-acme"
    )
    assert stored.run_at == START + timedelta(seconds=30)
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 29)
    assert calls == []
    await advance(harness, 1)
    await advance(harness, 600)

    assert calls == [("acme", 3)]
    (record,) = scheduled(harness)
    assert record.status is TaskStatus.SUCCESS
    assert "--- Scheduled once as 'trial-acme'" in record.logs[0]
    assert await harness.service.list_scheduled() == []


async def test_a_one_off_run_keeps_the_timeout_it_was_scheduled_with(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping, timeout=60)
    await harness.service.startup()
    service = harness.service

    own = await service.schedule_once(
        ping, (), {}, run_at=START + timedelta(seconds=30), run_key="own"
    )
    chosen = await service.schedule_once(
        ping,
        (),
        {},
        run_at=START + timedelta(seconds=30),
        run_key="chosen",
        options=EnqueueOptions(timeout=2.5),
    )
    assert (own.timeout, chosen.timeout) == (60, 2.5)
    stored = {run.run_key: run.timeout for run in await service.list_scheduled()}
    assert stored == {"own": 60, "chosen": 2.5}

    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 30)
    await advance(harness, 600)
    assert sorted(record.timeout for record in scheduled(harness)) == [2.5, 60]


async def test_a_one_off_run_waits_in_the_queue_it_was_scheduled_in(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling(queues=(("reports", QueueConfig(concurrency=1)),))
    harness.register(ping)
    await harness.service.startup()
    service = harness.service

    with pytest.raises(ValueError, match="unknown queue 'nightly'"):
        await service.schedule_once(
            ping, (), {}, run_at=START, run_key="x", options=EnqueueOptions(queue="nightly")
        )
    await service.schedule_once(
        ping,
        (),
        {},
        run_at=START + timedelta(seconds=30),
        run_key="chosen",
        options=EnqueueOptions(queue="reports"),
    )
    await service.schedule_once(ping, (), {}, run_at=START + timedelta(seconds=30), run_key="own")
    stored = {run.run_key: run.queue for run in await service.list_scheduled()}
    assert stored == {"chosen": "reports", "own": None}

    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 30)
    await advance(harness, 600)
    assert sorted(record.queue for record in scheduled(harness)) == ["default", "reports"]


async def test_scheduling_the_same_key_again_moves_the_run(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping)
    await harness.service.startup()
    service = harness.service

    await service.schedule_once(ping, (1,), {}, run_at=START + timedelta(seconds=30), run_key="k")
    await service.schedule_once(ping, (2,), {}, run_at=START + timedelta(seconds=90), run_key="k")
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 60)
    assert calls == []
    await advance(harness, 30)

    assert calls == [(2,)]


async def test_a_cancelled_run_does_not_start(make_scheduling: Callable[..., Harness]) -> None:
    harness = make_scheduling()
    harness.register(ping)
    await harness.service.startup()
    service = harness.service
    await service.schedule_once(ping, (), {}, run_at=START + timedelta(seconds=30), run_key="k")

    assert await service.cancel_scheduled("k") is True
    assert await service.cancel_scheduled("k") is False
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 60)

    assert calls == []


async def test_listing_runs_by_due_time(make_scheduling: Callable[..., Harness]) -> None:
    harness = make_scheduling()
    harness.register(ping)
    await harness.service.startup()
    service = harness.service
    for key, hours in [("later", 48), ("soon", 1), ("naive", 2)]:
        when = START + timedelta(hours=hours)
        if key == "naive":
            when = when.replace(tzinfo=None)  # naive means UTC
        await service.schedule_once(ping, (key,), {}, run_at=when, run_key=key)

    everything = await service.list_scheduled()
    assert [run.run_key for run in everything] == ["soon", "naive", "later"]
    assert everything[1].run_at == everything[1].fire_at == START + timedelta(hours=2)
    today = await service.list_scheduled(START + timedelta(hours=24))
    assert [run.run_key for run in today] == ["soon", "naive"]


async def test_bad_one_off_requests_fail_at_the_call(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping)
    harness.register(process_task, executor="process")
    await harness.service.startup()
    service = harness.service
    soon = START + timedelta(minutes=1)

    async def unregistered() -> None: ...

    with pytest.raises(ValueError, match="registered task"):
        await service.schedule_once(unregistered, (), {}, run_at=soon, run_key="k")
    with pytest.raises(TypeError, match="run_at must be a datetime"):
        await service.schedule_once(ping, (), {}, run_at="tomorrow", run_key="k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run_key"):
        await service.schedule_once(ping, (), {}, run_at=soon, run_key="")
    with pytest.raises(ValueError, match="run_key must be at most 255"):
        await service.schedule_once(ping, (), {}, run_at=soon, run_key="k" * 256)
    with pytest.raises(TaskArgumentError):
        await service.schedule_once(
            process_task, (threading.Lock(),), {}, run_at=soon, run_key="k"
        )
    assert await service.list_scheduled() == []


async def test_encrypted_runs_are_stored_sealed_and_run_with_their_arguments(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling(encrypt_args_key=Fernet.generate_key())
    harness.register(ping)
    await harness.service.startup()

    await harness.service.schedule_once(
        ping, ("card-4242",), {}, run_at=START + timedelta(seconds=5), run_key="charge"
    )
    (stored,) = await harness.storage.one_offs_due(START + timedelta(days=1), limit=10)
    assert stored.args == () and stored.encrypted_payload is not None
    assert b"card-4242" not in stored.encrypted_payload
    await wait_for(lambda: harness.clock.sleeping > 0, "the scheduler to sleep")
    await advance(harness, 5)

    assert calls == [("card-4242",)]


async def test_the_overview_shows_next_and_last_runs(
    make_scheduling: Callable[..., Harness],
) -> None:
    harness = make_scheduling()
    harness.register(ping, retries=2)
    harness.service.add_schedule(
        ScheduleEntry(name="ping", trigger=IntervalTrigger(60), missed="run_once")
    )
    await harness.service.startup()
    await harness.service.schedule_once(
        ping, (), {}, run_at=START + timedelta(days=3), run_key="far"
    )
    await advance(harness, 60)

    overview = await harness.service.schedules()

    (row,) = overview.entries
    assert row.entry.name == "ping"
    assert row.next_run == START + timedelta(seconds=120)
    assert row.last_claim is not None and row.last_claim.slot == START + timedelta(seconds=60)
    assert row.last_status is TaskStatus.SUCCESS
    assert (row.retries, row.executor) == (2, "async")
    assert overview.one_offs_armed == 1
