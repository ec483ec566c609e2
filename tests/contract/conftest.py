"""The storage adapters under contract: every test here runs once against each of them.

To add a store (PostgreSQL, MySQL, Redis), write one more async context manager like those
below, yielding a function that makes a new, unopened client of one empty store, and list it in
``STORES``. A store reached through a server would read its URL from an environment variable
(``TASKFLOW_TEST_POSTGRES_URL``, ...), skip when it is unset, and empty the tables on exit.
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
async def memory_store(_tmp_path: Path) -> AsyncIterator[ClientFactory]:
    store = MemoryTaskStorage()
    yield lambda: store


@asynccontextmanager
async def sqlite_file_store(tmp_path: Path) -> AsyncIterator[ClientFactory]:
    # Each client has its own engine and connections, as another process would.
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    yield lambda: SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())


@asynccontextmanager
async def sqlite_memory_store(_tmp_path: Path) -> AsyncIterator[ClientFactory]:
    store = SqlAlchemyTaskStorage("sqlite:///:memory:", serializer=TaggedJsonSerializer())
    yield lambda: store


STORES: dict[str, Callable[[Path], AbstractAsyncContextManager[ClientFactory]]] = {
    "memory": memory_store,
    "sqlite-file": sqlite_file_store,
    "sqlite-memory": sqlite_memory_store,
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
    async with STORES[request.param](tmp_path) as factory:
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
