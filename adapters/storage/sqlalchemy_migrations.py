"""Bringing a database's tables to the current schema version when the store opens."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    Double,
    Integer,
    MetaData,
    Table,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.schema import CreateColumn

from fastapi_taskflow.adapters.storage.schema_errors import SchemaTooNew
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import (
    SCHEMA_VERSION,
    metadata,
    schema_versions,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_types import exact_string

#: A step that alters existing tables from the previous version to its own.
Migration = Callable[[Connection], None]


def add_queue_and_crash_reruns(connection: Connection) -> None:
    """Version 2: tasks name the queue they wait in and count their reruns after crashes.

    Existing tasks get the default queue and no reruns. The ``taskflow_locks`` table, also new
    in version 2, is created with the other missing tables.
    """
    # The columns as version 2 defined them, spelled here so later versions cannot change
    # what this step does.
    added = Table(
        "taskflow_tasks",
        MetaData(),
        Column("queue", exact_string(255), nullable=False, server_default="default"),
        Column("crash_reruns", Integer, nullable=False, server_default="0"),
    )
    if _add_missing_columns(connection, added):
        _add_missing_index(
            connection,
            "ix_taskflow_tasks_queue_created",
            "CREATE INDEX ix_taskflow_tasks_queue_created ON taskflow_tasks (queue, created_at)",
        )


def add_retry_links(connection: Connection) -> None:
    """Version 3: a retried task and its retry name each other.

    Existing tasks have no links. The ``taskflow_audit`` table, also new in version 3, is
    created with the other missing tables.
    """
    added = Table(
        "taskflow_tasks",
        MetaData(),
        Column("retried_from", exact_string(128)),
        Column("retried_as", exact_string(128)),
    )
    _add_missing_columns(connection, added)


#: The indexes version 4 adds, by name, with the columns each covers.
_PROVENANCE_INDEXES = {
    "ix_taskflow_tasks_route_created": "route, created_at",
    "ix_taskflow_tasks_method_created": "method, created_at",
    "ix_taskflow_tasks_request": "request_id",
    "ix_taskflow_tasks_principal_created": "principal, created_at",
}


def add_provenance(connection: Connection) -> None:
    """Version 4: tasks record the request that enqueued them, and can be filtered by it.

    Existing tasks have no provenance (every new column is NULL). Columns and indexes already
    present are left alone, so a step cut short is completed by the next open.
    """
    added = Table(
        "taskflow_tasks",
        MetaData(),
        *(
            Column(name, exact_string(255))
            for name in ("route", "method", "request_id", "principal", "trace_parent")
        ),
    )
    if _add_missing_columns(connection, added):
        for name, columns in _PROVENANCE_INDEXES.items():
            _add_missing_index(
                connection, name, f"CREATE INDEX {name} ON taskflow_tasks ({columns})"
            )


def add_attempt_timeout(connection: Connection) -> None:
    """Version 5: tasks, and one-off runs waiting for their time, keep the time limit of
    their attempts; one-off runs also keep the queue chosen for them.

    Existing ones have none (NULL), which is what they were enqueued with: no limit, and the
    task's own queue.
    """
    _add_missing_columns(
        connection, Table("taskflow_tasks", MetaData(), Column("timeout", Double()))
    )
    _add_missing_columns(
        connection,
        Table(
            "taskflow_one_offs",
            MetaData(),
            Column("timeout", Double()),
            Column("queue", exact_string(255)),
        ),
    )


def _add_missing_columns(connection: Connection, table: Table) -> bool:
    """Add the columns of ``table`` its database table lacks; False when there is no table.

    Only what is missing is added, so a step can be run again after a partial run (MySQL
    commits each ``ALTER TABLE`` on its own, so a crash can leave one column added).
    """
    inspector = inspect(connection)
    if not inspector.has_table(table.name):
        return False
    present = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            spec = CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(sql_text(f"ALTER TABLE {table.name} ADD COLUMN {spec}"))
    return True


def _add_missing_index(connection: Connection, name: str, ddl: str) -> None:
    indexes = {index["name"] for index in inspect(connection).get_indexes("taskflow_tasks")}
    if name not in indexes:
        connection.execute(sql_text(ddl))


#: Upgrade steps by the version they produce. Version 1 is the first shape, created directly.
#: Tables that did not exist at all are created afterwards, at their current shape.
MIGRATIONS: Mapping[int, Migration] = {
    2: add_queue_and_crash_reruns,
    3: add_retry_links,
    4: add_provenance,
    5: add_attempt_timeout,
}


def upgrade_schema(
    connection: Connection,
    now: datetime,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Create or upgrade the tables to version ``target``; returns the version found before.

    Returns 0 for a database that had no tables of ours. Opening a database that is already at
    ``target`` changes nothing. Runs inside the caller's transaction; instances that may open
    one database at the same time must take turns around that transaction (see
    :func:`~fastapi_taskflow.adapters.storage.sqlalchemy_upgrade_lock.upgrade_turn`).

    Raises:
        SchemaTooNew: the database is at a version above ``target``.
    """
    schema_versions.create(connection, checkfirst=True)
    found = connection.scalar(select(func.max(schema_versions.c.version))) or 0
    if found > target:
        raise SchemaTooNew(
            f"the task tables are at schema version {found}, but this version of "
            f"fastapi-taskflow only knows versions up to {target}; upgrade fastapi-taskflow"
        )
    applied = [target] if found == 0 else list(range(found + 1, target + 1))
    if found:
        for version in applied:
            migrations[version](connection)
    metadata.create_all(connection, checkfirst=True)
    for version in applied:
        connection.execute(insert(schema_versions).values(version=version, applied_at=now))
    return found
