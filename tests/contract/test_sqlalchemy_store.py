"""The SQL store's own promises: schema versioning, SQLite setup and URL handling."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Connection, make_url, text

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_engine import normalize_url
from fastapi_taskflow.adapters.storage.sqlalchemy_migrations import (
    SchemaTooNew,
    upgrade_schema,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import SCHEMA_VERSION
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.domain.task import TaskRecord

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tasks.db"


def new_store(path: Path) -> SqlAlchemyTaskStorage:
    return SqlAlchemyTaskStorage(f"sqlite:///{path}", serializer=TaggedJsonSerializer())


@pytest.fixture
async def created(db_path: Path) -> AsyncIterator[Path]:
    """A database file written by one open and close of the store."""
    store = new_store(db_path)
    await store.open()
    await store.save([TaskRecord(task_id="kept", func_name="f", created_at=T0)])
    await store.close()
    yield db_path


def read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def sync_connection(created: Path) -> Iterator[Connection]:
    engine = sqlalchemy.create_engine(f"sqlite:///{created}")
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def test_a_new_database_records_the_current_schema_version(created: Path) -> None:
    assert read(created, "SELECT version FROM taskflow_schema_version") == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 5


async def test_opening_a_database_at_the_current_version_changes_nothing(created: Path) -> None:
    before = read(created, "SELECT version, applied_at FROM taskflow_schema_version")

    store = new_store(created)
    await store.open()
    kept = await store.get("kept")
    await store.close()

    assert read(created, "SELECT version, applied_at FROM taskflow_schema_version") == before
    assert kept is not None


def test_an_older_database_is_upgraded_step_by_step(sync_connection: Connection) -> None:
    current = SCHEMA_VERSION
    steps: list[int] = []

    def add_note_column(connection: Connection) -> None:
        steps.append(current + 1)
        connection.execute(text("ALTER TABLE taskflow_tasks ADD COLUMN note TEXT"))

    def add_note_index(connection: Connection) -> None:
        steps.append(current + 2)
        connection.execute(text("CREATE INDEX ix_note ON taskflow_tasks (note)"))

    migrations = {current + 1: add_note_column, current + 2: add_note_index}

    found = upgrade_schema(sync_connection, T0, target=current + 2, migrations=migrations)
    again = upgrade_schema(sync_connection, T0, target=current + 2, migrations=migrations)

    assert (found, again) == (current, current + 2)
    assert steps == [current + 1, current + 2]
    versions = sync_connection.execute(text("SELECT version FROM taskflow_schema_version"))
    assert sorted(row[0] for row in versions) == [current, current + 1, current + 2]


def test_a_database_from_a_newer_release_is_refused(sync_connection: Connection) -> None:
    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION}"):
        upgrade_schema(sync_connection, T0, target=SCHEMA_VERSION - 1, migrations={})


def test_a_sqlite_file_uses_write_ahead_logging(created: Path) -> None:
    assert read(created, "PRAGMA journal_mode") == [("wal",)]


async def test_arguments_that_cannot_be_stored_fail_the_save_and_write_nothing(
    db_path: Path,
) -> None:
    store = new_store(db_path)
    await store.open()
    try:
        good = TaskRecord(task_id="good", func_name="f", created_at=T0)
        bad = TaskRecord(task_id="bad", func_name="f", created_at=T0, args=(_Unpicklable(),))

        with pytest.raises(TypeError, match="_Unpicklable"):
            await store.save([good, bad])

        assert await store.get("good") is None
    finally:
        await store.close()


class _Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("not today")


async def test_a_closed_store_refuses_to_work(db_path: Path) -> None:
    store = new_store(db_path)

    with pytest.raises(RuntimeError, match="open"):
        await store.get("any")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///tasks.db", "sqlite+aiosqlite:///tasks.db"),
        ("sqlite+aiosqlite:///tasks.db", "sqlite+aiosqlite:///tasks.db"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgresql://u@db/tasks", "postgresql+asyncpg://u@db/tasks"),
        ("postgres://u@db/tasks", "postgresql+asyncpg://u@db/tasks"),
        ("postgresql+psycopg://u@db/tasks", "postgresql+psycopg://u@db/tasks"),
        ("mysql://u@db/tasks", "mysql+asyncmy://u@db/tasks"),
        ("mysql+aiomysql://u@db/tasks", "mysql+aiomysql://u@db/tasks"),
    ],
)
def test_urls_without_an_async_driver_get_one(url: str, expected: str) -> None:
    assert normalize_url(url) == make_url(expected)


def test_only_a_private_memory_database_is_not_durable(db_path: Path) -> None:
    serializer = TaggedJsonSerializer()

    assert SqlAlchemyTaskStorage("sqlite:///:memory:", serializer=serializer).durable is False
    assert new_store(db_path).durable is True
