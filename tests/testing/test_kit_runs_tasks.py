"""The kit runs what a route or a task enqueued, retries included, without waiting."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager

from fastapi_taskflow import TaskStatus
from fastapi_taskflow.testing import TaskflowKit, taskflow_test

from .shop_app import Shop, build_shop


@asynccontextmanager
async def shop_client(shop: Shop) -> AsyncIterator[tuple[TaskflowKit, httpx.AsyncClient]]:
    async with taskflow_test(shop.manager) as kit, LifespanManager(shop.app) as lifespan:
        transport = httpx.ASGITransport(app=lifespan.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            yield kit, client


async def test_a_task_that_fails_twice_finishes_in_milliseconds_at_fake_times() -> None:
    shop = build_shop(failures_before_success=2)
    async with shop_client(shop) as (kit, client):
        started = kit.now()
        wall = time.perf_counter()

        response = await client.post("/orders/A-1")
        finished = await kit.run_until_idle()

        elapsed = time.perf_counter() - wall
        charge = kit.task(response.json()["task_id"])
        assert charge.status is TaskStatus.SUCCESS
        assert charge.attempt == 3
        assert shop.charge_attempts == ["A-1", "A-1", "A-1"]
        # Waits of 60 s, then 60 * 2 s, on the fake clock only.
        assert kit.now() - started == timedelta(seconds=60 + 120)
        assert charge.end_time == started + timedelta(seconds=180)
        assert elapsed < 1.0, f"run_until_idle took {elapsed:.3f}s of real time"
        # The task enqueued by the task ran too, and both are reported as finished.
        assert [record.func_name for record in finished] == ["charge_card", "send_receipt"]
        assert shop.sent == ["buyer@example.com"]


async def test_the_request_returns_while_the_retry_waits_on_the_fake_clock() -> None:
    shop = build_shop(failures_before_success=1)
    async with shop_client(shop) as (kit, client):
        response = await client.post("/orders/B-2")
        assert response.status_code == 200

        charge = kit.assert_enqueued("charge_card", "B-2")
        await kit.advance(59)
        assert charge.status is TaskStatus.RUNNING
        assert charge.attempt == 1
        assert shop.charge_attempts == ["B-2"]

        await kit.advance(1)
        assert charge.status is TaskStatus.SUCCESS
        assert charge.attempt == 2


async def test_what_a_test_reads_from_each_task() -> None:
    shop = build_shop(failures_before_success=5)  # more failures than retries
    async with shop_client(shop) as (kit, client):
        await client.post("/orders/C-3")
        await kit.run_until_idle()

        [charge] = kit.enqueued(status="failed")
        assert charge.func_name == "charge_card"
        assert charge.attempt == 4
        assert charge.error == "ConnectionError: gateway timeout #4"
        assert charge.tags == {"order": "C-3"}
        assert charge.provenance is not None
        assert charge.provenance.route == "/orders/{order}"
        assert "Attempt 1 failed: ConnectionError: gateway timeout #1; retrying in 60s" in (
            " ".join(charge.logs)
        )
        assert kit.enqueued("send_receipt") == []
        # The application's own observers saw every event before run_until_idle returned.
        statuses = [event.status for event in shop.observer.lifecycle_events]
        assert statuses[0] is TaskStatus.PENDING
        assert statuses[-1] is TaskStatus.FAILED


async def test_sync_routes_and_sync_tasks_run_too() -> None:
    shop = build_shop()
    async with shop_client(shop) as (kit, client):
        response = await client.post("/receipts", params={"email": "a@example.com"})
        await kit.run_until_idle()

        record = kit.assert_enqueued("send_receipt", "a@example.com", order="resent")
        assert record.task_id == response.json()["task_id"]
        assert record.status is TaskStatus.SUCCESS
        assert shop.sent == ["a@example.com"]


async def test_retry_waits_of_tasks_in_flight_together_overlap() -> None:
    shop = build_shop(failures_before_success=2)  # counted across both orders
    async with shop_client(shop) as (kit, client):
        started = kit.now()
        await client.post("/orders/D-1")
        await client.post("/orders/D-2")
        await kit.run_until_idle()

        charges = kit.enqueued("charge_card")
        assert [(record.status, record.attempt) for record in charges] == [
            (TaskStatus.SUCCESS, 2),
            (TaskStatus.SUCCESS, 2),
        ]
        # Both waited 60 s at the same time: one minute passed, not two.
        assert kit.now() - started == timedelta(seconds=60)


async def test_tasks_started_outside_a_request_run_too() -> None:
    shop = build_shop()
    async with taskflow_test(shop.manager) as kit:
        entry = shop.manager.registry.get_by_name("send_receipt")
        assert entry is not None
        shop.manager.add_task(entry.func, "x@y.z", order="1")
        finished = await kit.run_until_idle()
        assert [record.status for record in finished] == [TaskStatus.SUCCESS]
        assert shop.sent == ["x@y.z"]
