"""The storage adapters under contract: every test here runs once against each of them.

To add a store, write one more async context manager like those below, yielding a function
that makes a new, unopened client of one empty store, and list it in ``STORES``. Stores on a
server get it from the session fixtures of ``tests/conftest.py`` (which skip, or fail in CI,
when the server is unreachable) and leave it empty for the next test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.ports.storage import TaskStorage

#: Makes a client of one store. Stores that cannot have two clients return the same object.
ClientFactory = Callable[[], TaskStorage]


@asynccontextmanager
async def memory_store(
    _tmp_path: Path, _request: pytest.FixtureRequest
) -> AsyncIterator[ClientFactory]:
    store = MemoryTaskStorage()
    yield lambda: store


@asynccontextmanager
async def sqlite_file_store(
    tmp_path: Path, _request: pytest.FixtureRequest
) -> AsyncIterator[ClientFactory]:
    # Each client has its own engine and connections, as another process would.
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    yield lambda: SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())


@asynccontextmanager
async def sqlite_memory_store(
    _tmp_path: Path, _request: pytest.FixtureRequest
) -> AsyncIterator[ClientFactory]:
    store = SqlAlchemyTaskStorage("sqlite:///:memory:", serializer=TaggedJsonSerializer())
    yield lambda: store


def sql_server_store(
    fixture: str,
) -> Callable[[Path, pytest.FixtureRequest], AbstractAsyncContextManager[ClientFactory]]:
    @asynccontextmanager
    async def store(
        _tmp_path: Path, request: pytest.FixtureRequest
    ) -> AsyncIterator[ClientFactory]:
        url = request.getfixturevalue(fixture)
        drop_task_tables = request.getfixturevalue("drop_task_tables")
        drop_task_tables(url)
        try:
            yield lambda: SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())
        finally:
            drop_task_tables(url)

    return store


@asynccontextmanager
async def redis_store(
    _tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[ClientFactory]:
    from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    try:
        yield lambda: RedisTaskStorage(url, serializer=TaggedJsonSerializer(), prefix=prefix)
    finally:
        await delete_redis_keys(url, prefix)


async def delete_redis_keys(url: str, prefix: str) -> None:
    """Remove every key under ``prefix``."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


STORES: dict[
    str, Callable[[Path, pytest.FixtureRequest], AbstractAsyncContextManager[ClientFactory]]
] = {
    "memory": memory_store,
    "sqlite-file": sqlite_file_store,
    "sqlite-memory": sqlite_memory_store,
    "postgresql": sql_server_store("postgres_url"),
    "mysql": sql_server_store("mysql_url"),
    "redis": redis_store,
}


class StoreClients:
    """Opens clients of the store under test and closes them all at the end."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._opened: list[TaskStorage] = []

    async def connect(self) -> TaskStorage:
        """An open client of the store."""
        client = self._factory()
        await client.open()
        self._opened.append(client)
        return client

    async def restart(self) -> TaskStorage:
        """Close every client, as a stopping process would, and connect afresh."""
        await self.close_all()
        return await self.connect()

    async def close_all(self) -> None:
        while self._opened:
            await self._opened.pop().close()


@pytest.fixture(params=list(STORES))
async def store_clients(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreClients]:
    async with STORES[request.param](tmp_path, request) as factory:
        clients = StoreClients(factory)
        try:
            yield clients
        finally:
            await clients.close_all()


@pytest.fixture
async def storage(store_clients: StoreClients) -> TaskStorage:
    """An open client of an empty store."""
    return await store_clients.connect()


@pytest.fixture
async def peer(storage: TaskStorage, store_clients: StoreClients) -> TaskStorage:
    """A second client of the same store as ``storage``, for races between instances."""
    return await store_clients.connect()


@pytest.fixture
def restart(store_clients: StoreClients) -> Callable[[], Awaitable[TaskStorage]]:
    """Closes every client, as a stopping process would, and returns a fresh open client."""
    return store_clients.restart
