"""The Redis store recovers by itself when the server drops its connections.

Each test opens a store whose connections carry a client name of their own, has the server
kill exactly those connections (``CLIENT KILL ID``, as a restart or an idle timeout would
drop them), and checks that the next calls simply work: the client resends a command that met
a dead connection on a new one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
import redis.asyncio as aioredis

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskQuery

pytestmark = pytest.mark.integration


def record(task_id: str) -> TaskRecord:
    return TaskRecord(
        task_id=task_id, func_name="reconnect", created_at=datetime.now(timezone.utc)
    )


@pytest.fixture
async def admin(redis_url: str, redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client outside the store; deletes the test's keys at the end."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def client_name() -> str:
    """A connection name no other client uses, so only the store's connections are killed."""
    return f"taskflow-reconnect-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def store(
    redis_url: str, redis_prefix: str, client_name: str, admin: aioredis.Redis
) -> AsyncIterator[RedisTaskStorage]:
    storage = RedisTaskStorage(
        redis_url,
        serializer=TaggedJsonSerializer(),
        prefix=redis_prefix,
        client_kwargs={"client_name": client_name},
    )
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


async def kill_connections(admin: aioredis.Redis, client_name: str) -> int:
    """Have the server close every connection named ``client_name``; returns how many."""
    killed = 0
    for client in await admin.client_list(_type="normal"):
        if client.get("name") == client_name:
            killed += int(await admin.client_kill_filter(_id=client["id"]))
    return killed


async def test_a_save_after_the_server_killed_the_connections_succeeds(
    store: RedisTaskStorage, admin: aioredis.Redis, client_name: str
) -> None:
    await store.save([record("before")])
    assert await kill_connections(admin, client_name) >= 1

    await store.save([record("after")])

    assert await store.get("before") is not None
    assert await store.get("after") is not None


async def test_reads_and_scripts_after_the_connections_were_killed_succeed(
    store: RedisTaskStorage, admin: aioredis.Redis, client_name: str
) -> None:
    await store.save([record("kept")])

    assert await kill_connections(admin, client_name) >= 1
    assert await store.get("kept") is not None

    assert await kill_connections(admin, client_name) >= 1
    page = await store.query(TaskQuery(), limit=10)
    assert [item.task_id for item in page.items] == ["kept"]

    assert await kill_connections(admin, client_name) >= 1
    assert await store.claim("kept", "me", None) is True


async def test_the_killed_connections_belonged_to_the_store_only(
    store: RedisTaskStorage, admin: aioredis.Redis, client_name: str
) -> None:
    await store.save([record("t1")])

    await kill_connections(admin, client_name)

    # The admin client, on its own connection, was not touched.
    assert await admin.ping() is True
    assert await store.get("t1") is not None
