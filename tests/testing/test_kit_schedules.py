"""Moving the kit's clock fires periodic slots and one-off runs at their times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow import TaskManager, TaskStatus
from fastapi_taskflow.testing import FakeClock, taskflow_test

from .shop_app import build_shop

START = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


async def test_an_interval_schedule_runs_once_at_each_slot_passed() -> None:
    shop = build_shop()
    async with taskflow_test(shop.manager, start=START) as kit:
        assert await kit.advance(299) == []
        assert shop.reports == []

        finished = await kit.advance(timedelta(minutes=15, seconds=1))

        # Slots are multiples of 300 s: 12:05, 12:10, 12:15 and 12:20 were passed.
        assert [record.start_time for record in finished] == [
            START + timedelta(minutes=minutes) for minutes in (5, 10, 15, 20)
        ]
        assert {record.source for record in finished} == {"scheduled"}
        assert shop.reports == ["report"] * 4
        assert kit.now() == START + timedelta(minutes=20)


async def test_run_until_idle_does_not_move_time_to_the_next_slot() -> None:
    shop = build_shop()
    async with taskflow_test(shop.manager, start=START) as kit:
        assert await kit.run_until_idle() == []
        assert kit.now() == START
        assert shop.reports == []


async def test_schedule_once_fires_at_its_time_with_its_arguments() -> None:
    shop = build_shop()
    manager = shop.manager
    entry = manager.registry.get_by_name("send_receipt")
    assert entry is not None
    async with taskflow_test(manager, start=START) as kit:
        run_at = START + timedelta(hours=2)
        await manager.schedule_once(
            entry.func, "late@example.com", order="L-1", run_at=run_at, run_key="reminder-L-1"
        )

        await kit.advance_to(run_at - timedelta(seconds=1))
        kit.assert_not_enqueued("send_receipt")

        finished = await kit.advance(1)
        # 14:00 is also a slot of the shop's sales report.
        assert sorted(record.func_name for record in finished) == ["sales_report", "send_receipt"]
        [receipt] = kit.enqueued("send_receipt")
        assert receipt.start_time == run_at
        assert receipt.status is TaskStatus.SUCCESS
        kit.assert_enqueued(entry.func, "late@example.com", order="L-1")
        assert shop.sent == ["late@example.com"]
        assert await manager.list_scheduled() == []


async def test_a_cancelled_one_off_run_never_fires() -> None:
    shop = build_shop()
    manager = shop.manager
    entry = manager.registry.get_by_name("send_receipt")
    assert entry is not None
    async with taskflow_test(manager, start=START) as kit:
        await manager.schedule_once(
            entry.func, "x@example.com", order="X", run_at=START + timedelta(days=1), run_key="x"
        )
        assert await manager.cancel_scheduled("x")
        await kit.advance(timedelta(days=2))
        kit.assert_not_enqueued("send_receipt")


async def test_a_schedule_declared_inside_the_kit_stays_with_the_manager() -> None:
    manager = TaskManager()
    runs: list[datetime] = []
    async with taskflow_test(manager, start=START) as kit:

        @manager.schedule(every=60, name="heartbeat")
        async def heartbeat() -> None:
            runs.append(kit.now())

        await kit.advance(120)
        assert runs == [START + timedelta(minutes=1), START + timedelta(minutes=2)]
    assert manager.service.scheduler.periodic.get("heartbeat") is not None


def test_the_clock_must_not_move_on_its_own() -> None:
    with pytest.raises(ValueError, match="auto_advance=False"):
        taskflow_test(TaskManager(), clock=FakeClock())
