"""``POST /tasks/{id}/cancel`` stops pending and running tasks and refuses finished ones."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import attrs
import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_event, wait_for_status

pytestmark = pytest.mark.integration


@attrs.define
class Gates:
    """Events the tasks of the cancel app wait on or set."""

    async_started: asyncio.Event = attrs.field(factory=asyncio.Event)
    async_release: asyncio.Event = attrs.field(factory=asyncio.Event)
    async_cleanup_ran: asyncio.Event = attrs.field(factory=asyncio.Event)
    sync_started: threading.Event = attrs.field(factory=threading.Event)
    sync_release: threading.Event = attrs.field(factory=threading.Event)
    sync_finished: threading.Event = attrs.field(factory=threading.Event)
    ran: list[str] = attrs.field(factory=list)


@pytest.fixture
async def cancel_app() -> AsyncIterator[tuple[httpx.AsyncClient, Gates]]:
    """An app running one task at a time, with blocking async and sync tasks."""
    gates = Gates()
    tm = TaskManager(max_concurrent_tasks=1)
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    async def wait_async() -> None:
        gates.async_started.set()
        try:
            await gates.async_release.wait()
        finally:
            gates.async_cleanup_ran.set()
        gates.ran.append("wait_async")

    @tm.task()
    def wait_sync() -> None:
        gates.sync_started.set()
        try:
            gates.sync_release.wait(timeout=30)
        finally:
            gates.sync_finished.set()

    @tm.task()
    def note(label: str) -> None:
        gates.ran.append(label)

    @app.post("/async")
    async def start_async(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(wait_async, eager=True)}

    @app.post("/sync")
    async def start_sync(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(wait_sync, eager=True)}

    @app.post("/note/{label}")
    async def start_note(label: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(note, label, eager=True)}

    try:
        async with serve(app) as client:
            yield client, gates
    finally:
        gates.sync_release.set()  # never leave a worker thread blocked


async def test_cancelling_a_running_async_task_stops_it(
    cancel_app: tuple[httpx.AsyncClient, Gates],
) -> None:
    client, gates = cancel_app
    task_id = (await client.post("/async")).json()["task_id"]
    await wait_for_event(gates.async_started, "the async task started")

    response = await client.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 200
    assert response.json()["task_id"] == task_id  # the original API's response shape
    assert response.json()["task"]["status"] == "cancelled"
    assert gates.async_cleanup_ran.is_set()  # the task saw CancelledError at its await
    assert "wait_async" not in gates.ran
    record = (await client.get(f"/tasks/{task_id}")).json()
    assert record["status"] == "cancelled"
    assert record["end_time"] is not None


async def test_cancelling_a_pending_task_means_it_never_runs(
    cancel_app: tuple[httpx.AsyncClient, Gates],
) -> None:
    client, gates = cancel_app
    blocker = (await client.post("/async")).json()["task_id"]
    await wait_for_event(gates.async_started, "the blocker holds the only slot")
    queued = (await client.post("/note/cancelled-one")).json()["task_id"]
    behind = (await client.post("/note/next-one")).json()["task_id"]
    assert (await client.get(f"/tasks/{queued}")).json()["status"] == "pending"

    response = await client.post(f"/tasks/{queued}/cancel")

    assert response.status_code == 200
    assert response.json()["task"]["status"] == "cancelled"
    gates.async_release.set()
    await wait_for_status(client, blocker, ["success"])
    # One slot, first come first served: the task queued behind can only have finished after
    # the cancelled one would have run.
    await wait_for_status(client, behind, ["success"])
    assert gates.ran == ["wait_async", "next-one"]
    record = (await client.get(f"/tasks/{queued}")).json()
    assert record["status"] == "cancelled"
    assert record["start_time"] is None


async def test_cancelling_a_running_sync_task_returns_at_once(
    cancel_app: tuple[httpx.AsyncClient, Gates],
) -> None:
    client, gates = cancel_app
    task_id = (await client.post("/sync")).json()["task_id"]
    await wait_for_event(gates.sync_started, "the sync task started in its thread")

    response = await client.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 200
    assert response.json()["task"]["status"] == "cancelled"
    assert not gates.sync_finished.is_set()  # answered while the thread was still blocked
    gates.sync_release.set()
    await wait_for_event(gates.sync_finished, "the worker thread returned")
    # The function returning afterwards does not turn the task into a success; the slot it
    # held is free again.
    note_id = (await client.post("/note/after")).json()["task_id"]
    await wait_for_status(client, note_id, ["success"])
    assert (await client.get(f"/tasks/{task_id}")).json()["status"] == "cancelled"


async def test_cancelling_a_finished_task_is_refused_with_400(
    cancel_app: tuple[httpx.AsyncClient, Gates],
) -> None:
    client, _ = cancel_app
    task_id = (await client.post("/note/done")).json()["task_id"]
    await wait_for_status(client, task_id, ["success"])

    response = await client.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 400
    assert (await client.get(f"/tasks/{task_id}")).json()["status"] == "success"


async def test_cancelling_an_unknown_task_is_404(
    cancel_app: tuple[httpx.AsyncClient, Gates],
) -> None:
    client, _ = cancel_app

    response = await client.post("/tasks/no-such-task/cancel")

    assert response.status_code == 404
