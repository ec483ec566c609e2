"""Creating the async engine for a storage URL, with each database's connection settings."""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

#: The async driver used when a URL names only the database (``sqlite:///tasks.db``).
DEFAULT_ASYNC_DRIVERS = {
    "sqlite": "aiosqlite",
    "postgresql": "asyncpg",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
}

#: Execution option that marks a transaction as one that will write.
WRITE_OPTION = "taskflow_write"

#: Milliseconds a SQLite connection waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


@attrs.frozen(kw_only=True)
class EngineSetup:
    """An engine and how this process must share it."""

    engine: AsyncEngine
    #: Every transaction must run alone: all of them share one connection.
    single_connection: bool
    #: Writing transactions must take turns in this process (SQLite has one writer at a time).
    single_writer: bool


def normalize_url(url: str) -> URL:
    """The URL with an async driver: ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``.

    ``postgres://`` is accepted for ``postgresql://``. URLs that name a driver are kept as they
    are.
    """
    parsed = make_url(url)
    backend = "postgresql" if parsed.drivername == "postgres" else parsed.drivername
    driver = DEFAULT_ASYNC_DRIVERS.get(backend)
    if driver is not None:
        parsed = parsed.set(drivername=f"{backend}+{driver}")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    """Whether ``url`` names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: str, *, echo: bool = False) -> EngineSetup:
    """Create the engine for ``url`` (call it inside the event loop that will use it)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(parsed, echo=echo, pool_pre_ping=True)
        return EngineSetup(engine=engine, single_connection=False, single_writer=False)
    memory = is_memory_sqlite(parsed)
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_async_engine(parsed, echo=echo, **options)
    _configure_sqlite(engine)
    return EngineSetup(engine=engine, single_connection=memory, single_writer=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, and transactions that SQLAlchemy (not the driver) begins.

    The sqlite3 driver would start a transaction only at the first write, so reads in a
    transaction would not share one snapshot. Beginning explicitly fixes that, and lets writing
    transactions take the write lock up front (``BEGIN IMMEDIATE``): a transaction that reads
    first and writes later could otherwise fail at once, without waiting for the busy timeout.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
