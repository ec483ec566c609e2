"""The original ``RedisBackend`` object: its prefix and client options reach the server."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.backends import RedisBackend

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration


async def test_tasks_are_stored_under_the_backend_prefix_with_its_client_options(
    redis_url: str, redis_prefix: str
) -> None:
    client_name = f"taskflow-test-{uuid.uuid4().hex[:8]}"
    manager = TaskManager(
        snapshot_backend=RedisBackend(redis_url, prefix=redis_prefix, client_name=client_name)
    )
    app = FastAPI()
    TaskAdmin(app, manager, auto_install=True)

    @manager.task()
    def greet(name: str) -> None: ...

    @app.post("/greet")
    def route(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(greet, "ada")}

    inspector = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        async with serve(app) as client:
            task_id = (await client.post("/greet")).json()["task_id"]
            await wait_for_status(client, task_id)
            names = {entry.get("name") for entry in await inspector.client_list()}
            assert client_name in names

        keys = [key async for key in inspector.scan_iter(match=f"{redis_prefix}:*")]
        assert any(task_id in key for key in keys), keys
        assert all(key.startswith(f"{redis_prefix}:") for key in keys)
    finally:
        async for key in inspector.scan_iter(match=f"{redis_prefix}:*"):
            await inspector.delete(key)
        await inspector.aclose()
