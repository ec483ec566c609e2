"""The injection patterns of the docs give routes a managed ``add_task`` returning a task id.

Each pattern is exercised from a sync route (run in a worker thread) and from an async route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import BackgroundTasks, Depends, FastAPI

from fastapi_taskflow import ManagedBackgroundTasks, TaskAdmin, TaskManager

from .conftest import serve, serve_with_timeline, wait_for_record, wait_for_status

pytestmark = pytest.mark.integration

Events = list[str]


def add_bare_route(app: FastAPI, tm: TaskManager, job: Callable[..., Any], sync: bool) -> None:
    """Pattern 1: the native ``BackgroundTasks`` annotation (needs auto_install)."""
    if sync:

        @app.post("/run")
        def run_sync(background_tasks: BackgroundTasks) -> dict[str, str]:
            return {"task_id": background_tasks.add_task(job, "sync")}

    else:

        @app.post("/run")
        async def run_async(background_tasks: BackgroundTasks) -> dict[str, str]:
            return {"task_id": background_tasks.add_task(job, "async")}


def add_managed_route(app: FastAPI, tm: TaskManager, job: Callable[..., Any], sync: bool) -> None:
    """Pattern 2: the ``ManagedBackgroundTasks`` annotation (needs auto_install)."""
    if sync:

        @app.post("/run")
        def run_sync(background_tasks: ManagedBackgroundTasks) -> dict[str, str]:
            return {"task_id": background_tasks.add_task(job, "sync")}

    else:

        @app.post("/run")
        async def run_async(background_tasks: ManagedBackgroundTasks) -> dict[str, str]:
            return {"task_id": background_tasks.add_task(job, "async")}


def add_get_tasks_route(
    app: FastAPI, tm: TaskManager, job: Callable[..., Any], sync: bool
) -> None:
    """Pattern 3: ``Depends(task_manager.get_tasks)``, no install needed."""
    if sync:

        @app.post("/run")
        def run_sync(tasks: Any = Depends(tm.get_tasks)) -> dict[str, str]:  # noqa: B008
            return {"task_id": tasks.add_task(job, "sync")}

    else:

        @app.post("/run")
        async def run_async(tasks: Any = Depends(tm.get_tasks)) -> dict[str, str]:  # noqa: B008
            return {"task_id": tasks.add_task(job, "async")}


def add_background_tasks_route(
    app: FastAPI, tm: TaskManager, job: Callable[..., Any], sync: bool
) -> None:
    """Pattern 3, spelled ``Depends(task_manager.background_tasks)``."""
    if sync:

        @app.post("/run")
        def run_sync(
            tasks: Any = Depends(tm.background_tasks),  # noqa: B008
        ) -> dict[str, str]:
            return {"task_id": tasks.add_task(job, "sync")}

    else:

        @app.post("/run")
        async def run_async(
            tasks: Any = Depends(tm.background_tasks),  # noqa: B008
        ) -> dict[str, str]:
            return {"task_id": tasks.add_task(job, "async")}


PATTERNS = {
    "BackgroundTasks+auto_install": (add_bare_route, True),
    "ManagedBackgroundTasks+auto_install": (add_managed_route, True),
    "Depends(get_tasks)": (add_get_tasks_route, False),
    "Depends(background_tasks)": (add_background_tasks_route, False),
}


def build_app(pattern: str, sync_route: bool, events: Events) -> tuple[FastAPI, TaskManager]:
    """An app with a ``/run`` route that enqueues ``job`` using ``pattern``.

    The ``Depends`` patterns get no ``TaskAdmin``, ``init_app`` or ``install`` at all: the docs
    promise they need none.
    """
    tm = TaskManager()
    app = FastAPI()
    add_route, auto_install = PATTERNS[pattern]
    if auto_install:
        TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    def job(origin: str) -> None:
        events.append(f"task ran ({origin})")

    add_route(app, tm, job, sync_route)
    return app, tm


@pytest.mark.parametrize("sync_route", [True, False], ids=["sync-route", "async-route"])
@pytest.mark.parametrize("pattern", list(PATTERNS))
async def test_add_task_returns_an_id_and_the_task_runs_after_the_response(
    pattern: str, sync_route: bool
) -> None:
    events: Events = []
    app, tm = build_app(pattern, sync_route, events)
    auto_install = PATTERNS[pattern][1]

    async with serve_with_timeline(app, events) as client:
        response = await client.post("/run")
        assert response.status_code == 200
        task_id = response.json()["task_id"]
        assert str(uuid.UUID(task_id)) == task_id

        if auto_install:
            record = await wait_for_status(client, task_id, ["success"])
        else:  # no admin routes mounted: ask the manager
            record = (await wait_for_record(tm, task_id)).to_dict()

    origin = "sync" if sync_route else "async"
    assert events[:2] == ["response sent", f"task ran ({origin})"]
    assert record["status"] == "success"
    assert record["func_name"] == "job"
    assert record["retries_used"] == 0
    assert record["error"] is None


async def test_async_task_functions_run_from_a_route() -> None:
    seen: list[int] = []
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    async def double(value: int) -> None:
        seen.append(value * 2)

    @app.post("/double/{value}")
    async def route(value: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(double, value)}

    async with serve(app) as client:
        task_id = (await client.post("/double/21")).json()["task_id"]
        record = await wait_for_status(client, task_id)

    assert seen == [42]
    assert record["executor"] == "async"


async def test_get_tasks_uses_its_own_manager_even_when_another_one_is_installed() -> None:
    """``Depends(tm.get_tasks)`` is the documented way to pick a manager per route: it must
    not be overridden by whichever manager another app installed process-wide."""
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm)
    ran: list[str] = []

    # Another app in the same process, set up later, installs its manager globally.
    other = TaskManager()
    other_app = FastAPI()
    TaskAdmin(other_app, other, auto_install=True)

    @tm.task()
    def job() -> None:
        ran.append("job")

    @app.post("/run")
    async def route(tasks: Any = Depends(tm.get_tasks)) -> dict[str, str]:  # noqa: B008
        return {"task_id": tasks.add_task(job)}

    async with serve(other_app), serve(app) as client:
        task_id = (await client.post("/run")).json()["task_id"]
        assert other.store.get(task_id) is None, "the task went to the other app's manager"
        record = await wait_for_status(client, task_id)

    assert record["func_name"] == "job"
    assert ran == ["job"]
