"""Bringing a database's tables to the current schema version when the store opens."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from fastapi_taskflow.adapters.storage.sqlalchemy_schema import (
    SCHEMA_VERSION,
    metadata,
    schema_versions,
)

#: A step that alters existing tables from the previous version to its own.
Migration = Callable[[Connection], None]

#: Upgrade steps by the version they produce. Version 1 is the first shape, created directly.
#: Tables that did not exist at all are created afterwards, at their current shape.
MIGRATIONS: Mapping[int, Migration] = {}


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of fastapi-taskflow."""


def upgrade_schema(
    connection: Connection,
    now: datetime,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Create or upgrade the tables to version ``target``; returns the version found before.

    Returns 0 for a database that had no tables of ours. Opening a database that is already at
    ``target`` changes nothing. Runs inside the caller's transaction.

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
