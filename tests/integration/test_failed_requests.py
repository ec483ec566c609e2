"""A task added by a route that then fails is dropped, as FastAPI drops background tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import BackgroundTasks, FastAPI, HTTPException

from fastapi_taskflow import TaskAdmin, TaskManager, TaskStatus

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration

TERMINAL = [status.value for status in TaskStatus if status.is_terminal]


def shop(tm: TaskManager, charged: list[int], enqueued: list[str]) -> FastAPI:
    """An app whose ``/orders/{n}`` enqueues a charge, then finds the item is out of stock."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    def charge_card(order: int) -> None:
        charged.append(order)

    @app.post("/orders/{order}")
    def place(order: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        enqueued.append(background_tasks.add_task(charge_card, order))
        raise HTTPException(status_code=409, detail="out of stock")

    return app


async def test_the_task_of_a_failed_request_never_runs_and_is_not_left_pending(
    tmp_path: Path,
) -> None:
    """FastAPI runs a request's background tasks only with its response: when the route
    raises, they are dropped. The managed task must not stay ``pending`` for ever (it will
    never run in this process) and must not run later either, after a restart."""
    database = str(tmp_path / "tasks.db")
    charged: list[int] = []
    enqueued: list[str] = []

    async with serve(shop(TaskManager(snapshot_db=database), charged, enqueued)) as client:
        response = await client.post("/orders/1")
        assert response.status_code == 409
        (task_id,) = enqueued
        after_request = (await client.get(f"/tasks/{task_id}")).json()["status"]

    async with serve(shop(TaskManager(snapshot_db=database), charged, enqueued)) as client:
        # If recovery picked the task up, let it finish before looking.
        after_restart = await wait_for_status(client, task_id, TERMINAL)

    assert charged == [], "the card was charged for an order the client was told failed"
    assert after_request != "pending", "left pending in a process that will never run it"
    assert after_restart["status"] != "success"
