"""The database lock that makes instances create or upgrade the schema one at a time.

Several instances of an application often start together against one database. Without
taking turns, two of them may both find the tables missing (or at an old version) and both
create or alter them, and the slower one fails. Each database needs its own way:

- SQLite: nothing here; the upgrade runs in a writing transaction (``BEGIN IMMEDIATE``),
  which already excludes every other writer of the file until it commits.
- PostgreSQL: a session-level advisory lock. Advisory locks belong to one database, so a
  fixed key cannot collide with another database on the same server.
- MySQL/MariaDB: a named user-level lock (``GET_LOCK``). Its names are shared by the whole
  server, so the name carries a digest of the database's name. Schema changes commit on
  their own in MySQL; a lock outside the transaction is the only way to keep them together.

The lock is held across the upgrade's transaction and released only after it committed, so
the next instance finds the schema complete and its version recorded.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

#: Seconds a MySQL/MariaDB instance waits for another one's upgrade before giving up.
MYSQL_UPGRADE_WAIT = 300

#: The PostgreSQL advisory lock key: a fixed number derived from a name that says whose it is.
_POSTGRES_KEY = zlib.crc32(b"fastapi-taskflow:schema-upgrade")

_MYSQL_NAME = func.concat("fastapi-taskflow-schema:", func.md5(func.database()))


class UpgradeLockTimeout(RuntimeError):
    """Another instance kept the schema upgrade lock for longer than we wait."""


@contextlib.asynccontextmanager
async def upgrade_turn(connection: AsyncConnection) -> AsyncIterator[None]:
    """Hold the schema upgrade lock of ``connection``'s database while the body runs.

    Call it outside a transaction; the body runs its own transaction and commits it before
    the lock is released.

    Raises:
        UpgradeLockTimeout: MySQL/MariaDB only, after :data:`MYSQL_UPGRADE_WAIT` seconds.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await connection.execute(select(func.pg_advisory_lock(_POSTGRES_KEY)))
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(select(func.pg_advisory_unlock(_POSTGRES_KEY)))
            await connection.commit()
    elif dialect in ("mysql", "mariadb"):
        taken = await connection.scalar(select(func.get_lock(_MYSQL_NAME, MYSQL_UPGRADE_WAIT)))
        await connection.commit()
        if taken != 1:
            raise UpgradeLockTimeout(
                f"another instance has been creating or upgrading the task tables for over "
                f"{MYSQL_UPGRADE_WAIT} seconds"
            )
        try:
            yield
        finally:
            await connection.scalar(select(func.release_lock(_MYSQL_NAME)))
            await connection.commit()
    else:
        yield
