"""An ``idempotency_key`` makes a repeated submission return the original task, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import attrs
import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_event, wait_for_status

pytestmark = pytest.mark.integration


@attrs.define
class Notifier:
    """What the ``notify`` task did, and a gate to hold it while running."""

    calls: list[str] = attrs.field(factory=list)
    fail_next: bool = False
    started: asyncio.Event = attrs.field(factory=asyncio.Event)
    release: asyncio.Event = attrs.field(factory=asyncio.Event)


def build_app(tm: TaskManager, notifier: Notifier) -> FastAPI:
    """An app whose ``/orders/{order}/notify`` enqueues ``notify`` keyed by the order."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    async def notify(order: str) -> None:
        notifier.calls.append(order)
        notifier.started.set()
        await notifier.release.wait()
        if notifier.fail_next:
            notifier.fail_next = False
            raise RuntimeError("mail server down")

    @app.post("/orders/{order}/notify")
    async def route(
        order: str, background_tasks: BackgroundTasks, eager: bool = False
    ) -> dict[str, str]:
        task_id = background_tasks.add_task(
            notify, order, idempotency_key=f"order-{order}-notified", eager=eager
        )
        return {"task_id": task_id}

    return app


async def test_a_repeated_request_gets_the_same_task_and_the_function_runs_once() -> None:
    notifier = Notifier()
    notifier.release.set()
    app = build_app(TaskManager(), notifier)

    async with serve(app) as client:
        first = (await client.post("/orders/42/notify")).json()["task_id"]
        await wait_for_status(client, first, ["success"])
        second = (await client.post("/orders/42/notify")).json()["task_id"]
        other = (await client.post("/orders/43/notify")).json()["task_id"]
        await wait_for_status(client, other, ["success"])

        assert second == first
        assert other != first
        listed = (await client.get("/tasks")).json()

    assert notifier.calls == ["42", "43"]
    assert sorted(task["task_id"] for task in listed) == sorted([first, other])


async def test_a_repeat_while_the_first_is_still_running_gets_the_same_task() -> None:
    notifier = Notifier()
    app = build_app(TaskManager(), notifier)

    async with serve(app) as client:
        first = (await client.post("/orders/7/notify?eager=true")).json()["task_id"]
        await wait_for_event(notifier.started, "the first notification started")
        second = (await client.post("/orders/7/notify?eager=true")).json()["task_id"]
        notifier.release.set()
        await wait_for_status(client, first, ["success"])

    assert second == first
    assert notifier.calls == ["7"]


async def test_after_a_failure_the_same_key_creates_a_new_task() -> None:
    notifier = Notifier(fail_next=True)
    notifier.release.set()
    app = build_app(TaskManager(), notifier)

    async with serve(app) as client:
        first = (await client.post("/orders/9/notify")).json()["task_id"]
        failed = await wait_for_status(client, first, ["failed", "success"])
        second = (await client.post("/orders/9/notify")).json()["task_id"]
        retried = await wait_for_status(client, second, ["success", "failed"])

    assert failed["status"] == "failed"
    assert second != first
    assert retried["status"] == "success"
    assert notifier.calls == ["9", "9"]


async def test_after_a_restart_the_same_key_returns_the_original_task_without_running_it(
    tmp_path: Path,
) -> None:
    """Documented: "Works in-process and cross-instance via the shared backend"."""
    database = str(tmp_path / "tasks.db")
    notifier = Notifier()
    notifier.release.set()
    async with serve(build_app(TaskManager(snapshot_db=database), notifier)) as client:
        first = (await client.post("/orders/5/notify")).json()["task_id"]
        await wait_for_status(client, first, ["success"])

    async with serve(build_app(TaskManager(snapshot_db=database), notifier)) as client:
        again = (await client.post("/orders/5/notify")).json()["task_id"]
        settled = await wait_for_status(
            client, again, ["success", "failed", "cancelled", "interrupted"]
        )
        listed = (await client.get("/tasks")).json()

    assert notifier.calls == ["5"]
    assert again == first, (
        f"a new task {again} ({settled['status']}: {settled['error']}) was created for a key "
        f"already held by {first}; tasks listed: {[t['task_id'] for t in listed]}"
    )
