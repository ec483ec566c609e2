"""With slots limited, waiting tasks start by priority, highest first, then in arrival order."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_event, wait_for_status

pytestmark = pytest.mark.integration


async def test_waiting_tasks_start_highest_priority_first() -> None:
    order: list[str] = []
    started = asyncio.Event()
    release = asyncio.Event()
    tm = TaskManager(max_concurrent_tasks=1)
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task(eager=True)
    async def hold_the_slot() -> None:
        started.set()
        await release.wait()

    @tm.task(priority=1)
    async def process_item(label: str) -> None:
        order.append(label)

    @app.post("/hold")
    async def hold(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(hold_the_slot)}

    @app.post("/items/{label}")
    async def item(
        label: str, background_tasks: BackgroundTasks, priority: int | None = None
    ) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(process_item, label, priority=priority)}

    async with serve(app) as client:
        blocker = (await client.post("/hold")).json()["task_id"]
        await wait_for_event(started, "the blocker holds the only slot")
        ids = [
            (await client.post(f"/items/{label}", params=params)).json()["task_id"]
            for label, params in [
                ("default-1", {}),  # the decorator's priority=1
                ("rush", {"priority": 10}),
                ("normal-a", {"priority": 5}),
                ("default-2", {}),
                ("normal-b", {"priority": 5}),
            ]
        ]
        statuses = [(await client.get(f"/tasks/{i}")).json()["status"] for i in ids]
        assert statuses == ["pending"] * 5
        release.set()
        await wait_for_status(client, blocker)
        records = [await wait_for_status(client, task_id) for task_id in ids]

    assert order == ["rush", "normal-a", "normal-b", "default-1", "default-2"]
    assert [record["priority"] for record in records] == [1, 10, 5, 1, 5]
