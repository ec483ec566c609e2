"""A real server: uvicorn runs the app, a task completes, SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fastapi_taskflow import TaskRecord, TaskStatus
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

from .conftest import PATIENCE, wait_for_status
from .uvicorn_server import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(f"sqlite:///{tmp_path / 'tasks.db'}", tmp_path / "uvicorn.log")
    try:
        running.wait_until_answering()
        yield running
    finally:
        running.kill()


async def read_stored(database: Path, task_id: str) -> TaskRecord | None:
    storage = SqlAlchemyTaskStorage(f"sqlite:///{database}", serializer=TaggedJsonSerializer())
    await storage.open()
    try:
        return await storage.get(task_id)
    finally:
        await storage.close()


async def test_a_task_enqueued_under_uvicorn_succeeds_and_sigterm_exits_cleanly(
    server: Server, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=PATIENCE) as client:
        response = await client.post("/signup", params={"email": "ada@example.com"})
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]
        record = await wait_for_status(client, task_id)

    assert any("welcome mail sent to ada@example.com" in line for line in record["logs"])
    exit_code = server.terminate()
    output = server.output()
    # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is over (any app
    # exits with -15 then); older versions exit with 0. Either way the lifespan must have
    # completed without an error.
    assert exit_code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output
    assert "Traceback" not in output
    assert "ERROR" not in output
    stored = await read_stored(tmp_path / "tasks.db", task_id)
    assert stored is not None
    assert stored.status is TaskStatus.SUCCESS
    assert stored.func_name == "send_welcome"
    assert stored.kwargs == {"address": "ada@example.com"}


async def test_sigterm_does_not_wait_for_a_sync_task_that_is_still_running(
    server: Server, tmp_path: Path
) -> None:
    """Changelog 0.8.1: "Fixed a process hang at shutdown when tasks were still running" and
    "running tasks showing as CANCELLED instead of INTERRUPTED after a server shutdown"."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=PATIENCE) as client:
        task_id = (await client.post("/export", params={"report": "q3"})).json()["task_id"]
        await wait_for_status(client, task_id, ["running"])

    exit_code = server.terminate()
    output = server.output()
    assert exit_code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output
    stored = await read_stored(tmp_path / "tasks.db", task_id)
    assert stored is not None
    assert stored.status is TaskStatus.INTERRUPTED
