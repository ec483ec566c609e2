"""Plain synchronous tests: Starlette's TestClient runs the app in a thread of its own, and
the kit's blocking calls drive it from the test's thread."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fastapi_taskflow import TaskStatus
from fastapi_taskflow.testing import taskflow_test

from .shop_app import build_shop

pytestmark = pytest.mark.filterwarnings(
    # Starlette 1.x asks for httpx2 in its TestClient; users on httpx still get the warning.
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def test_a_sync_test_with_testclient_runs_retries_at_fake_times() -> None:
    from fastapi.testclient import TestClient

    shop = build_shop(failures_before_success=1)
    with taskflow_test(shop.manager) as kit, TestClient(shop.app) as client:
        started = kit.now()
        task_id = client.post("/orders/S-1").json()["task_id"]

        finished = kit.run_until_idle_blocking()

        assert kit.task(task_id).status is TaskStatus.SUCCESS
        assert kit.task(task_id).attempt == 2
        assert kit.now() - started == timedelta(seconds=60)
        assert [record.func_name for record in finished] == ["charge_card", "send_receipt"]

        ran = kit.advance_blocking(300)
        assert [record.func_name for record in ran] == ["sales_report"]
    assert shop.reports == ["report"]


def test_the_blocking_calls_say_when_no_app_runs_in_another_thread() -> None:
    shop = build_shop()
    with taskflow_test(shop.manager) as kit, pytest.raises(RuntimeError, match="TestClient"):
        kit.run_until_idle_blocking()


async def test_the_blocking_calls_refuse_to_block_the_apps_own_loop() -> None:
    shop = build_shop()
    async with taskflow_test(shop.manager) as kit:
        await kit.run_until_idle()
        with pytest.raises(RuntimeError, match=r"await kit\.run_until_idle"):
            kit.run_until_idle_blocking()
