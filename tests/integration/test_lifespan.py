"""The manager composes with the app's own lifespan, and wiring it twice is harmless."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import BackgroundTasks, FastAPI, Request

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.entrypoints.fastapi.request_guard import RequestTaskGuard

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration


async def test_the_apps_own_lifespan_runs_and_can_enqueue_tasks() -> None:
    events: list[str] = []
    tm = TaskManager()
    enqueued: dict[str, str] = {}

    @tm.task()
    async def warm_cache(region: str) -> None:
        events.append(f"cache warmed for {region}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("app startup")
        enqueued["task_id"] = tm.add_task(warm_cache, "eu")
        yield {"greeting": "hello from the lifespan"}
        events.append("app shutdown")

    app = FastAPI(lifespan=lifespan)
    TaskAdmin(app, tm)

    @app.get("/greeting")
    async def greeting(request: Request) -> dict[str, str]:
        return {"greeting": request.state.greeting}

    async with serve(app) as client:
        record = await wait_for_status(client, enqueued["task_id"])
        greeting = (await client.get("/greeting")).json()
        assert events == ["app startup", "cache warmed for eu"]

    assert events == ["app startup", "cache warmed for eu", "app shutdown"]
    assert record["func_name"] == "warm_cache"
    assert greeting == {"greeting": "hello from the lifespan"}


async def test_init_app_twice_is_harmless(tmp_path: Path) -> None:
    startups: list[str] = []
    ran: list[str] = []
    tm = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))

    @tm.task()
    def job() -> None:
        ran.append("job")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        startups.append("startup")
        yield

    app = FastAPI(lifespan=lifespan)
    tm.init_app(app)
    tm.init_app(app)
    TaskAdmin(app, tm, auto_install=True)  # calls init_app a third time

    @app.post("/run")
    def run(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(job)}

    async with serve(app) as client:
        task_id = (await client.post("/run")).json()["task_id"]
        await wait_for_status(client, task_id)
        listed = (await client.get("/tasks")).json()

    assert startups == ["startup"]
    assert ran == ["job"]
    assert [task["task_id"] for task in listed] == [task_id]
    commits = [m for m in app.user_middleware if m.cls is RequestTaskGuard]
    assert len(commits) == 1


async def test_the_app_can_be_started_again_after_a_shutdown(tmp_path: Path) -> None:
    """Test suites and reloaders start the same app object more than once."""
    ran: list[int] = []
    tm = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    def job(n: int) -> None:
        ran.append(n)

    @app.post("/run/{n}")
    def run(n: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(job, n)}

    async with serve(app) as client:
        first = (await client.post("/run/1")).json()["task_id"]
        await wait_for_status(client, first)

    async with serve(app) as client:
        second = (await client.post("/run/2")).json()["task_id"]
        await wait_for_status(client, second)
        listed = {task["task_id"] for task in (await client.get("/tasks")).json()}

    assert ran == [1, 2]
    assert listed == {first, second}


async def test_tasks_enqueued_before_startup_start_the_manager_once(tmp_path: Path) -> None:
    """Enqueueing at import time (before the lifespan) must not start the manager twice."""
    manager = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))
    ran: list[str] = []

    @manager.task()
    async def warm_up() -> None:
        ran.append("warm_up")

    names = {"taskflow-maintenance", "taskflow-write-behind", "taskflow-observers"}

    def background_loops() -> list[str]:
        return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name() in names)

    manager.add_task(warm_up)  # no loop yet: held until start-up
    app = FastAPI()
    manager.init_app(app)
    async with serve(app):
        await wait_until(lambda: ran == ["warm_up"], "the held task to run")
        assert background_loops() == ["taskflow-maintenance", "taskflow-write-behind"]
    assert background_loops() == []
