"""Databases written by earlier releases are upgraded in place when the SQL store opens them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import make_url

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_migrations import (
    MIGRATIONS,
    SchemaTooNew,
    upgrade_schema,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import (
    SCHEMA_VERSION,
    metadata,
    schema_versions,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditQuery
from fastapi_taskflow.ports.storage import TaskQuery

from . import schema_v1

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

#: The versions an upgraded version 1 database has recorded.
EVERY_VERSION = list(range(1, SCHEMA_VERSION + 1))

#: Tables added after version 2 without a version step of their own.
SCHEDULE_TABLES = {"taskflow_schedule_slots", "taskflow_one_offs"}

#: Instances that open one database at the same moment, as a scaled-out deployment starts.
INSTANCES = 6

#: Removes every table of ours from the database at a URL.
Emptier = Callable[[str], None]


@pytest.fixture(params=["sqlite-file", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Emptier]]:
    """The URL of an empty database (no tables of ours), and how to empty it again."""
    if request.param == "sqlite-file":
        path = tmp_path / "tasks.db"

        def remove_files(_url: str) -> None:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

        yield f"sqlite:///{path}", remove_files
        return
    url: str = request.getfixturevalue(
        "postgres_url" if request.param == "postgresql" else "mysql_url"
    )
    drop_task_tables: Emptier = request.getfixturevalue("drop_task_tables")
    drop_task_tables(url)
    try:
        yield url, drop_task_tables
    finally:
        drop_task_tables(url)


@pytest.fixture
def url(database: tuple[str, Emptier]) -> str:
    return database[0]


def sync_engine(url: str) -> Engine:
    """A plain (synchronous) engine on the database at ``url``, to set it up and inspect it."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    drivers = {"sqlite": "pysqlite", "postgresql": "psycopg", "mysql": "pymysql"}
    return sqlalchemy.create_engine(parsed.set(drivername=f"{backend}+{drivers[backend]}"))


def new_store(url: str) -> SqlAlchemyTaskStorage:
    return SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())


def write_version_1_database(url: str, *, recorded_version: int = schema_v1.VERSION) -> None:
    """The tables as version 1 created them, holding one pending task of a dead instance."""
    serializer = TaggedJsonSerializer()
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            schema_v1.metadata.create_all(connection)
            connection.execute(
                schema_v1.tasks.insert().values(
                    task_id="old",
                    func_name="send_email",
                    status=TaskStatus.PENDING.value,
                    args=serializer.dumps(("someone@example.com",)),
                    kwargs=serializer.dumps({"urgent": True}),
                    created_at=T0,
                    retries_used=0,
                    logs=json.dumps(["queued"]),
                    tags=json.dumps({"tenant": "acme"}),
                    idempotency_key="welcome-1",
                    source="manual",
                    instance_id="dead-instance",
                )
            )
            connection.execute(
                schema_v1.task_tags.insert().values(
                    task_id="old", tag_key="tenant", tag_value="acme"
                )
            )
            connection.execute(
                schema_v1.idempotency_keys.insert().values(
                    idempotency_key="welcome-1", task_id="old"
                )
            )
            connection.execute(
                schema_v1.schema_versions.insert().values(version=recorded_version, applied_at=T0)
            )
    finally:
        engine.dispose()


def recorded_versions(url: str) -> list[tuple[int, datetime]]:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            table = schema_v1.schema_versions
            rows = connection.execute(
                select(table.c.version, table.c.applied_at).order_by(table.c.version)
            )
            return [(version, applied_at) for version, applied_at in rows]
    finally:
        engine.dispose()


def table_shapes(url: str) -> dict[str, Any]:
    """Our tables' columns (name, nullability) and indexes (name, columns)."""
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {
                name: (
                    sorted((c["name"], c["nullable"]) for c in inspector.get_columns(name)),
                    sorted(
                        (str(i["name"]), tuple(map(str, i["column_names"])))
                        for i in inspector.get_indexes(name)
                    ),
                )
                for name in inspector.get_table_names()
                if name.startswith("taskflow_")
            }
    finally:
        engine.dispose()


async def test_a_version_1_database_is_upgraded_in_place(url: str) -> None:
    write_version_1_database(url)

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None
        assert (old.queue, old.crash_reruns) == ("default", 0)
        assert (old.func_name, old.args, old.kwargs) == (
            "send_email",
            ("someone@example.com",),
            {"urgent": True},
        )
        assert (old.tags, old.logs, old.created_at) == ({"tenant": "acme"}, ["queued"], T0)
        assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION
        assert set(table_shapes(url)) >= SCHEDULE_TABLES

        new = TaskRecord(
            task_id="new",
            func_name="resize",
            created_at=T0 + timedelta(minutes=1),
            queue="images",
            crash_reruns=1,
        )
        await store.save([new])
        stored = await store.get("new")
        assert stored is not None
        assert (stored.queue, stored.crash_reruns) == ("images", 1)
        page = await store.query(TaskQuery(queue="default"), limit=10)
        assert [record.task_id for record in page.items] == ["old"]
        assert await store.reserve_idempotency_key("welcome-1", "again") == "old"
        claimed = await store.claim_orphans("survivor", frozenset(), limit=10)
        assert [record.task_id for record in claimed] == ["old", "new"]
        assert await store.acquire("leader", "survivor", ttl=60) is True
    finally:
        await store.close()


async def test_a_version_2_database_gains_retry_links_and_the_audit_table(url: str) -> None:
    # Version 2 as its own step made it: version 1, then the version 2 step alone.
    write_version_1_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            upgrade_schema(connection, T0, target=2, migrations={2: MIGRATIONS[2]})
    finally:
        engine.dispose()
    columns, _indexes = table_shapes(url)["taskflow_tasks"]
    assert "retried_from" not in {name for name, _nullable in columns}

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None
        assert (old.retried_from, old.retried_as) == (None, None)
        old.retried_as = "again"
        await store.save([old])
        stored = await store.get("old")
        assert stored is not None and stored.retried_as == "again"
        entry = AuditEntry(entry_id="e", at=T0, actor=None, action=AuditAction.RETRY)
        await store.append_audit(entry)
        assert (await store.audit_entries(AuditQuery(), limit=5)).items == [entry]
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION


def write_version_3_database(url: str) -> None:
    """Version 3 as its own steps made it: version 1, then the steps to 2 and 3 alone."""
    write_version_1_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            upgrade_schema(
                connection, T0, target=3, migrations={2: MIGRATIONS[2], 3: MIGRATIONS[3]}
            )
    finally:
        engine.dispose()


PROVENANCE_COLUMNS = {"route", "method", "request_id", "principal", "trace_parent"}


async def test_a_version_3_database_gains_provenance_and_its_filters(url: str) -> None:
    write_version_3_database(url)
    columns, _indexes = table_shapes(url)["taskflow_tasks"]
    assert not PROVENANCE_COLUMNS & {name for name, _nullable in columns}

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None
        assert old.provenance is None
        assert old.tags == {"tenant": "acme"}
        origin = Provenance(
            route="/orders/{order_id}", method="POST", request_id="r-1", principal="alice"
        )
        new = TaskRecord(task_id="new", func_name="resize", created_at=T0 + timedelta(minutes=1))
        new.provenance = origin
        await store.save([new])
        stored = await store.get("new")
        assert stored is not None and stored.provenance == origin
        for query in (
            TaskQuery(route="/orders/{order_id}"),
            TaskQuery(method="POST"),
            TaskQuery(request_id="r-1"),
            TaskQuery(principal="alice"),
        ):
            page = await store.query(query, limit=10)
            assert [record.task_id for record in page.items] == ["new"]
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)][-3:] == [3, 4, 5]
    columns, _indexes = table_shapes(url)["taskflow_tasks"]
    assert {(name, True) for name in PROVENANCE_COLUMNS} <= set(columns)


def write_version_4_database(url: str) -> None:
    """Version 4 as its own steps made it: version 1, then the steps to 2, 3 and 4 alone."""
    write_version_1_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            steps = {version: MIGRATIONS[version] for version in (2, 3, 4)}
            upgrade_schema(connection, T0, target=4, migrations=steps)
            # Tables missing at an upgrade are created at today's shape; version 4 made the
            # one-off table without this column.
            for column in ("timeout", "queue"):
                connection.execute(
                    sqlalchemy.text(f"ALTER TABLE taskflow_one_offs DROP COLUMN {column}")
                )
    finally:
        engine.dispose()


async def test_a_version_4_database_gains_attempt_timeouts(url: str) -> None:
    write_version_4_database(url)
    for table in ("taskflow_tasks", "taskflow_one_offs"):
        columns, _indexes = table_shapes(url)[table]
        assert "timeout" not in {name for name, _nullable in columns}
    columns, _indexes = table_shapes(url)["taskflow_one_offs"]
    assert "queue" not in {name for name, _nullable in columns}

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None
        assert old.timeout is None  # what it was enqueued with: no limit
        assert old.tags == {"tenant": "acme"}
        new = TaskRecord(
            task_id="new", func_name="resize", created_at=T0 + timedelta(minutes=1), timeout=2.5
        )
        await store.save([new])
        stored = await store.get("new")
        assert stored is not None and stored.timeout == 2.5
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)][-2:] == [4, 5]
    for table in ("taskflow_tasks", "taskflow_one_offs"):
        columns, _indexes = table_shapes(url)[table]
        assert ("timeout", True) in columns
    columns, _indexes = table_shapes(url)["taskflow_one_offs"]
    assert ("queue", True) in columns


async def test_the_timeout_step_can_run_again_after_it_was_cut_short(url: str) -> None:
    # As if the process died after adding the column but before recording version 5.
    write_version_4_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            MIGRATIONS[5](connection)
    finally:
        engine.dispose()

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None and old.timeout is None
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION


async def test_a_provenance_upgrade_cut_short_is_completed_by_the_next_open(url: str) -> None:
    # As if the process died after adding one column and before adding the rest (MySQL
    # commits each ALTER TABLE on its own).
    write_version_3_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text("ALTER TABLE taskflow_tasks ADD COLUMN route VARCHAR(255)")
            )
    finally:
        engine.dispose()

    store = new_store(url)
    await store.open()
    try:
        old = await store.get("old")
        assert old is not None and old.provenance is None
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION
    columns, indexes = table_shapes(url)["taskflow_tasks"]
    assert {name for name, _nullable in columns} >= PROVENANCE_COLUMNS
    assert ("ix_taskflow_tasks_request", ("request_id",)) in indexes


async def test_a_version_2_database_without_the_schedule_tables_gets_them(url: str) -> None:
    # As a release from before the schedule tables wrote it: the same version, fewer tables.
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            older = [
                table for table in metadata.sorted_tables if table.name not in SCHEDULE_TABLES
            ]
            metadata.create_all(connection, tables=older)
            connection.execute(schema_versions.insert().values(version=2, applied_at=T0))
    finally:
        engine.dispose()

    store = new_store(url)
    await store.open()
    try:
        assert set(table_shapes(url)) >= SCHEDULE_TABLES
        assert await store.claim_slot(
            "nightly", T0, TaskRecord(task_id="n", func_name="f", created_at=T0)
        )
    finally:
        await store.close()
    assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION[1:]


async def test_an_upgrade_cut_short_is_completed_by_the_next_open(url: str) -> None:
    # As if the process died after altering the tables but before recording the version
    # (MySQL commits each ALTER TABLE on its own).
    write_version_1_database(url)
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            MIGRATIONS[2](connection)
    finally:
        engine.dispose()

    store = new_store(url)
    await store.open()
    old = await store.get("old")
    await store.close()

    assert old is not None and old.queue == "default"
    assert [version for version, _ in recorded_versions(url)] == EVERY_VERSION


async def test_an_upgraded_database_has_the_shape_of_a_new_one(
    database: tuple[str, Emptier],
) -> None:
    url, empty = database
    write_version_1_database(url)
    upgraded = new_store(url)
    await upgraded.open()
    await upgraded.close()
    upgraded_shape = table_shapes(url)
    empty(url)

    created = new_store(url)
    await created.open()
    await created.close()

    assert upgraded_shape == table_shapes(url)


async def test_a_database_at_the_current_version_opens_unchanged(url: str) -> None:
    write_version_1_database(url)
    first = new_store(url)
    await first.open()
    await first.close()
    versions, shape = recorded_versions(url), table_shapes(url)

    again = new_store(url)
    await again.open()
    old = await again.get("old")
    await again.close()

    assert old is not None
    assert recorded_versions(url) == versions
    assert table_shapes(url) == shape


async def test_a_database_from_a_newer_release_is_refused_and_left_alone(url: str) -> None:
    write_version_1_database(url, recorded_version=SCHEMA_VERSION + 1)
    before = table_shapes(url)
    store = new_store(url)

    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}"):
        await store.open()

    assert table_shapes(url) == before
    with pytest.raises(RuntimeError, match="open"):
        await store.get("old")


@pytest.mark.parametrize("written_by", ["nobody", "version-1"])
async def test_instances_opening_one_database_together_all_succeed(
    url: str, written_by: str
) -> None:
    if written_by == "version-1":
        write_version_1_database(url)
    stores = [new_store(url) for _ in range(INSTANCES)]

    results = await asyncio.gather(*(store.open() for store in stores), return_exceptions=True)

    try:
        assert [result for result in results if result is not None] == []
        expected = [SCHEMA_VERSION] if written_by == "nobody" else EVERY_VERSION
        assert [version for version, _ in recorded_versions(url)] == expected
        for n, store in enumerate(stores):
            await store.save([TaskRecord(task_id=f"t{n}", func_name="f", created_at=T0)])
        listed = await stores[0].query(TaskQuery(queue="default"), limit=100)
        assert len(listed.items) == INSTANCES + (written_by == "version-1")
    finally:
        await asyncio.gather(*(store.close() for store in stores))
