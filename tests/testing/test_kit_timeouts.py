"""Under the kit, attempt timeouts are measured on its fake clock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fastapi_taskflow import TaskManager, TaskStatus
from fastapi_taskflow.testing import TasksDidNotSettle, taskflow_test


async def test_a_hung_attempt_times_out_at_its_fake_deadline_and_is_retried() -> None:
    tm = TaskManager()
    calls: list[int] = []

    @tm.task(timeout=30, retries=1, delay=60)
    async def poll_partner_api() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.Event().wait()  # hangs: only its timeout ends it
        return "ok"

    async with taskflow_test(tm, timeout=0.2) as kit:
        started = kit.now()
        task_id = tm.add_task(poll_partner_api)
        (finished,) = await kit.run_until_idle()

        assert finished.task_id == task_id
        assert finished.status is TaskStatus.SUCCESS
        assert finished.attempt == 2
        assert any(
            "TaskTimeout: poll_partner_api timed out after 30s on attempt 1" in line
            for line in finished.logs
        )
        # 30 s until the deadline, then the 60 s retry wait, all on the fake clock.
        assert (kit.now() - started).total_seconds() == 90


async def test_a_quick_thread_task_is_not_timed_out_by_the_kit() -> None:
    tm = TaskManager()

    @tm.task(timeout=1)
    def tidy_up() -> str:
        return "tidied"

    async with taskflow_test(tm, timeout=5) as kit:
        tm.add_task(tidy_up)
        (finished,) = await kit.run_until_idle()
        assert finished.status is TaskStatus.SUCCESS


async def test_a_hung_task_without_a_timeout_is_still_reported() -> None:
    tm = TaskManager()
    release = threading.Event()

    @tm.task()
    def stuck() -> None:
        release.wait(10)

    try:
        async with taskflow_test(tm, timeout=0.2) as kit:
            tm.add_task(stuck)
            with pytest.raises(TasksDidNotSettle, match="stuck"):
                await kit.run_until_idle()
            release.set()
    finally:
        release.set()
