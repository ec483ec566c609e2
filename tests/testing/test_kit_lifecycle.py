"""Entering and leaving the kit: the manager is redirected, then back exactly as it was;
work the kit cannot finish fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Depends, FastAPI

from fastapi_taskflow import ManagedBackgroundTasks, TaskArgumentError, TaskManager, TaskStatus
from fastapi_taskflow.adapters.clock import SystemClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.ports.storage import TaskQuery
from fastapi_taskflow.testing import TasksDidNotSettle, taskflow_test


async def test_the_manager_works_on_its_own_storage_again_after_the_kit(tmp_path: Path) -> None:
    manager = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))
    done: list[str] = []

    @manager.task()
    async def record(value: str) -> None:
        done.append(value)

    service_before = manager.service
    storage_before = manager.container.storage()
    async with taskflow_test(manager) as kit:
        assert isinstance(manager.container.storage(), MemoryTaskStorage)
        assert manager.container.clock() is kit.clock
        assert manager.service is not service_before
        manager.add_task(record, "inside")
        await kit.run_until_idle()

    assert manager.service is service_before
    assert manager.container.storage() is storage_before
    assert isinstance(manager.container.clock(), SystemClock)
    await manager.startup()
    try:
        task_id = manager.add_task(record, "outside")
        for _ in range(1000):
            stored = await manager.get_task(task_id)
            if stored is not None and stored.status is TaskStatus.SUCCESS:
                break
            await asyncio.sleep(0.005)
        else:
            pytest.fail("the task did not run after the kit exited")
        await manager.service.flush()
        # The kit's task never reached the real store.
        page = await manager.service.queries.page(TaskQuery(), limit=10)
        assert [stored.task_id for stored in page.items] == [task_id]
    finally:
        await manager.shutdown()
    assert done == ["inside", "outside"]


async def test_a_running_manager_cannot_be_taken_over() -> None:
    manager = TaskManager()
    await manager.startup()
    try:
        with pytest.raises(RuntimeError, match="enter taskflow_test\\(\\) before"):
            taskflow_test(manager).__enter__()
    finally:
        await manager.shutdown()


def test_one_kit_at_a_time_per_manager() -> None:
    manager = TaskManager()
    with taskflow_test(manager), pytest.raises(RuntimeError, match="already driving"):
        taskflow_test(manager).__enter__()
    with taskflow_test(manager):  # and the first one let go on exit
        pass


async def test_a_task_awaiting_something_outside_fails_the_test_with_its_name() -> None:
    manager = TaskManager()
    never = asyncio.Event()

    @manager.task()
    async def wait_for_webhook() -> None:
        await never.wait()

    async with taskflow_test(manager, timeout=0.2) as kit:
        task_id = manager.add_task(wait_for_webhook)
        started = time.perf_counter()
        with pytest.raises(TasksDidNotSettle, match=r"wait_for_webhook \("):
            await kit.run_until_idle()
        assert time.perf_counter() - started < 2.0
        record = kit.task(task_id)
    # Leaving the kit stopped the manager, which interrupted the task.
    assert record.status is TaskStatus.INTERRUPTED


async def test_a_task_retrying_for_ever_fails_the_test_instead_of_hanging() -> None:
    manager = TaskManager()

    @manager.task(retries=1_000_000, delay=1)
    async def hopeless() -> None:
        raise ConnectionError("down")

    async with taskflow_test(manager, max_steps=50) as kit:
        manager.add_task(hopeless)
        with pytest.raises(TasksDidNotSettle, match=r"time moved 50 times.*hopeless"):
            await kit.run_until_idle()


async def test_arguments_a_durable_store_would_refuse_are_refused_under_the_kit(
    tmp_path: Path,
) -> None:
    durable = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))
    in_memory = TaskManager()

    async def keep(value: object) -> None:
        del value

    durable.task()(keep)
    in_memory.task()(keep)
    lock = threading.Lock()  # cannot be serialised
    with taskflow_test(durable), pytest.raises(TaskArgumentError, match="cannot be stored"):
        durable.add_task(keep, lock)
    with taskflow_test(in_memory) as kit:
        in_memory.add_task(keep, lock)  # memory:// keeps objects as they are
        kit.assert_enqueued(keep, lock)


async def test_tasks_of_a_request_that_failed_are_cancelled_not_run() -> None:
    manager = TaskManager()
    app = FastAPI()
    manager.init_app(app)
    ran: list[str] = []

    @manager.task()
    async def notify(who: str) -> None:
        ran.append(who)

    @app.post("/broken")
    async def broken(
        tasks: ManagedBackgroundTasks = Depends(manager.get_tasks),  # noqa: B008
    ) -> None:
        tasks.add_task(notify, "nobody")
        raise RuntimeError("the route failed after enqueueing")

    async with taskflow_test(manager) as kit, LifespanManager(app) as lifespan:
        transport = httpx.ASGITransport(app=lifespan.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/broken")).status_code == 500
        await kit.run_until_idle()
        [record] = kit.enqueued(notify)
        assert record.status is TaskStatus.CANCELLED
        assert ran == []
