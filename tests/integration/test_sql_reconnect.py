"""The SQL store recovers by itself when the server drops its connections.

Each test opens a store, lets the server close every connection the store holds (a killed
session, an idle timeout), and checks that the next calls simply work: the pool pings each
connection before use and replaces the dead ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.domain.task import TaskRecord

pytestmark = pytest.mark.integration

#: Longest wait for the server to close an idle connection; reaching it fails the test.
PATIENCE = 15.0


def record(task_id: str) -> TaskRecord:
    return TaskRecord(
        task_id=task_id, func_name="reconnect", created_at=datetime.now(timezone.utc)
    )


def new_store(url: str) -> SqlAlchemyTaskStorage:
    return SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())


@pytest.fixture
def postgres_admin(postgres_url: str) -> Iterator[Engine]:
    """A synchronous connection to the test database, outside any store's pool."""
    yield from _admin(postgres_url, "psycopg")


@pytest.fixture
def mysql_admin(mysql_url: str) -> Iterator[Engine]:
    """A synchronous connection to the test database, outside any store's pool."""
    yield from _admin(mysql_url, "pymysql")


def _admin(url: str, driver: str) -> Iterator[Engine]:
    parsed = make_url(url)
    engine = create_engine(
        parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}"),
        isolation_level="AUTOCOMMIT",
    )
    _drop_task_tables(engine)
    try:
        yield engine
    finally:
        _drop_task_tables(engine)
        engine.dispose()


def _drop_task_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        for name in reversed(inspect(connection).get_table_names()):
            if name.startswith("taskflow_"):
                connection.execute(text(f"DROP TABLE {name}"))


def postgres_sessions(admin: Engine) -> list[int]:
    """Backends connected to the test database, other than the admin's own."""
    with admin.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def mysql_sessions(admin: Engine) -> list[int]:
    """Connections using the test database, other than the admin's own."""
    with admin.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
                )
            ).scalars()
        )


async def test_postgres_store_recovers_after_its_sessions_are_terminated(
    postgres_url: str, postgres_admin: Engine
) -> None:
    store = new_store(postgres_url)
    await store.open()
    try:
        await store.save([record("before")])
        assert postgres_sessions(postgres_admin), "the store should hold a pooled connection"

        with postgres_admin.connect() as connection:
            terminated = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            assert all(terminated)

        await store.save([record("after")])
        before, after = await store.get("before"), await store.get("after")
    finally:
        await store.close()

    assert before is not None and after is not None


async def test_mariadb_store_recovers_after_its_connections_are_killed(
    mysql_url: str, mysql_admin: Engine
) -> None:
    store = new_store(mysql_url)
    await store.open()
    try:
        await store.save([record("before")])
        sessions = mysql_sessions(mysql_admin)
        assert sessions, "the store should hold a pooled connection"

        with mysql_admin.connect() as connection:
            for session in sessions:
                connection.execute(text(f"KILL {int(session)}"))

        await store.save([record("after")])
        before, after = await store.get("before"), await store.get("after")
    finally:
        await store.close()

    assert before is not None and after is not None


async def test_mariadb_store_recovers_after_the_server_closes_idle_connections(
    mysql_url: str, mysql_admin: Engine
) -> None:
    # The driver runs init_command on every new connection, so each one the store opens
    # (the first ones and their replacements) times out after one idle second.
    short_timeout = quote("SET SESSION wait_timeout = 1")
    store = new_store(f"{mysql_url}?init_command={short_timeout}")
    await store.open()
    try:
        await store.save([record("before")])
        assert mysql_sessions(mysql_admin), "the store should hold a pooled connection"

        deadline = time.monotonic() + PATIENCE
        while mysql_sessions(mysql_admin):
            assert time.monotonic() < deadline, "the server kept the idle connections open"
            await asyncio.sleep(0.1)

        await store.save([record("after")])
        before, after = await store.get("before"), await store.get("after")
    finally:
        await store.close()

    assert before is not None and after is not None
