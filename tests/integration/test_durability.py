"""The durability promise: a task id the client received is already in storage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.ports.storage import TaskQuery

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def stored_ids(url: str) -> set[str]:
    """What another process would find in the database right now."""
    reader = SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())
    await reader.open()
    try:
        page = await reader.query(TaskQuery(), limit=1000)
    finally:
        await reader.close()
    return {record.task_id for record in page.items}


class SlowCommits(SqlAlchemyTaskStorage):
    """A database whose commits take a while, like one under load.

    Without commit-before-response the response would overtake the background commit; the
    assertion below then fails. With it, the response simply waits for the commit.
    """

    async def save(self, records: Any) -> None:
        await asyncio.sleep(0.2)
        await super().save(records)


async def test_new_tasks_are_committed_before_the_response_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    manager = TaskManager(storage_url=url)
    manager.container.storage.override(SlowCommits(url, serializer=TaggedJsonSerializer()))
    app = FastAPI()
    TaskAdmin(app, manager, auto_install=True)
    release = asyncio.Event()

    @manager.task()
    async def slow_job() -> None:
        await release.wait()

    @app.post("/work")
    def work(background_tasks: BackgroundTasks) -> dict[str, list[str]]:
        return {"ids": [background_tasks.add_task(slow_job) for _ in range(3)]}

    in_storage_at_response_start: list[set[str]] = []

    async def outside(scope: Any, receive: Any, send: Any) -> None:
        # Sits between the server and the app: sees what leaves the app, when it leaves.
        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/work":
                in_storage_at_response_start.append(await stored_ids(url))
                release.set()
            await send(message)

        await app(scope, receive, watch)

    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=outside)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ids = (await client.post("/work")).json()["ids"]

    assert in_storage_at_response_start == [set(ids)]
