"""Creating the async engine for a storage URL, with each database's connection settings."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

import attrs
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

DEFAULT_ASYNC_DRIVERS = {
    "sqlite": "aiosqlite",
    "postgresql": "asyncpg",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
}
"""The async driver used when a URL names only the database (``sqlite:///tasks.db``).

Chosen by measuring ``SqlAlchemyTaskStorage.save()`` with each driver
(``benchmarks/storage_drivers.py --runs 7``: PostgreSQL 15 and MariaDB 10.11 on loopback,
a 2-CPU machine; medians; CPU is this process's time per row)::

                single saves          batches of 100
    driver      rows/s   CPU µs      rows/s   CPU µs
    asyncpg        264    2,814       7,822       64
    psycopg        274    3,068       6,897      113
    asyncmy        299    2,339       7,123       87
    aiomysql       252    2,874       6,441      107
    aiosqlite      234    3,881       7,616      125

Single saves wait on the server's commit, so every driver lands within noise of the others
there. Batches, which the write-behind buffer commits under load, tell them apart: asyncpg
writes 13-16% more rows per second than psycopg and costs the application about 40% less CPU
per row, and asyncmy is 8-11% ahead of aiomysql, with less CPU per row as well (ranges over
two runs). aiomysql also fails every write with PyMySQL 1.2 and later, so the engine
refuses that pairing (it was measured with PyMySQL 1.1.3). SQLite has one async driver.
"""

#: The async drivers each database accepts.
ACCEPTED_DRIVERS: Mapping[str, tuple[str, ...]] = {
    "sqlite": ("aiosqlite",),
    "postgresql": ("asyncpg", "psycopg"),
    "mysql": ("asyncmy", "aiomysql"),
    "mariadb": ("asyncmy", "aiomysql"),
}

#: The URL forms the SQL store accepts, for error messages.
ACCEPTED_URLS = (
    "sqlite:///path.db, sqlite:///:memory:, postgresql://... (or postgres://, "
    "postgresql+asyncpg://, postgresql+psycopg://), mysql://... or mariadb://... "
    "(or mysql+asyncmy://, mysql+aiomysql://, mariadb+asyncmy://, mariadb+aiomysql://)"
)

#: Database name for messages, and the pip command that installs each database's drivers.
_INSTALL_HINTS = {
    "sqlite": ("SQLite", "pip install aiosqlite"),
    "postgresql": ("PostgreSQL", 'pip install "fastapi-taskflow[postgres]"'),
    "mysql": ("MySQL", 'pip install "fastapi-taskflow[mysql]"'),
    "mariadb": ("MariaDB", 'pip install "fastapi-taskflow[mysql]"'),
}

#: Execution option that marks a transaction as one that will write.
WRITE_OPTION = "taskflow_write"

#: Milliseconds a SQLite connection waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Connections kept open per process. Storage calls are short and the write-behind buffer
#: commits from one task, so a handful covers the buffer, claims and a few dashboard queries
#: at once; ten processes then keep 50 connections, half of PostgreSQL's default
#: ``max_connections``.
POOL_SIZE = 5

#: Extra connections opened during a burst beyond ``POOL_SIZE``, closed again when returned.
POOL_MAX_OVERFLOW = 5

#: Seconds a caller waits for a free connection before the call fails. Longer than any
#: storage call takes, so only a pool that is really stuck (or far too small) reports it.
POOL_TIMEOUT = 30.0

#: Seconds after which a pooled MySQL/MariaDB connection is replaced. The server closes
#: connections idle for ``wait_timeout`` seconds: 8 hours by default, but hosted servers and
#: proxies may set a few minutes. Staying under five minutes avoids most such closes without
#: asking the server for its setting; the pre-ping catches any shorter timeout.
MYSQL_POOL_RECYCLE = 280

#: Seconds after which a pooled PostgreSQL connection is replaced. PostgreSQL has no idle
#: timeout by default, and each new connection starts a server process, so this is long: it
#: only keeps connections from living forever behind firewalls and poolers that drop old
#: sessions (the pre-ping catches the rest).
POSTGRES_POOL_RECYCLE = 1800


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

    ``postgres://`` is accepted for ``postgresql://``. URLs that name an accepted driver are
    kept as they are.

    Raises:
        ValueError: the URL names another database or a driver that is not an accepted async
            one (such as ``postgresql+psycopg2://``); the message lists the accepted forms.
    """
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    backend = "postgresql" if backend == "postgres" else backend
    accepted = ACCEPTED_DRIVERS.get(backend)
    if accepted is None:
        raise ValueError(f"unsupported SQL storage URL {_safe(parsed)}; expected {ACCEPTED_URLS}")
    if not driver:
        driver = DEFAULT_ASYNC_DRIVERS[backend]
    elif driver not in accepted:
        raise ValueError(
            f"unsupported driver {driver!r} in {_safe(parsed)}; the store needs one of "
            f"{', '.join(accepted)}: expected {ACCEPTED_URLS}"
        )
    return parsed.set(drivername=f"{backend}+{driver}")


def require_driver(url: str) -> None:
    """Check, without importing it, that the driver ``url`` needs is installed.

    Lets a configuration mistake surface when the application is set up rather than when it
    starts serving.

    Raises:
        ValueError: an unsupported URL (see :func:`normalize_url`).
        ImportError: the driver is missing; the message says what to install.
    """
    parsed = normalize_url(url)
    driver = parsed.get_driver_name()
    try:
        found = importlib.util.find_spec(driver) is not None
    except ValueError:  # a module blocked in sys.modules has no spec
        found = False
    if not found:
        database, install = _install_hint(parsed)
        raise ImportError(f"{database} storage needs the {driver} driver: {install}", name=driver)


def is_memory_sqlite(url: URL) -> bool:
    """Whether ``url`` names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def pool_options(backend: str) -> dict[str, Any]:
    """The connection pool settings for a database server (``postgresql``, ``mysql`` or
    ``mariadb``).

    Every connection is pinged when taken from the pool, so one the server or a network
    device has closed since (a restarted server, a killed session, an idle timeout) is
    replaced before use instead of failing the call. The ping costs a round trip per
    transaction, small next to the commit it protects.
    """
    recycle = POSTGRES_POOL_RECYCLE if backend == "postgresql" else MYSQL_POOL_RECYCLE
    options: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT,
        "pool_pre_ping": True,
        "pool_recycle": recycle,
    }
    if backend in ("mysql", "mariadb"):
        # InnoDB's default, REPEATABLE READ, takes gap locks on searches that match nothing
        # (the tag rows of a new task), and concurrent writes of new tasks then deadlock on
        # each other's gaps. Every statement here is atomic on its own or locks what it
        # needs explicitly, as on PostgreSQL, whose default is READ COMMITTED too.
        options["isolation_level"] = "READ COMMITTED"
    return options


def create_engine(
    url: str, *, echo: bool = False, engine_options: Mapping[str, Any] | None = None
) -> EngineSetup:
    """Create the engine for ``url`` (call it inside the event loop that will use it).

    Args:
        url: A storage URL; see :func:`normalize_url`.
        echo: Log every SQL statement.
        engine_options: Keyword arguments for SQLAlchemy's ``create_async_engine`` that
            replace the defaults of :func:`pool_options` (or add others, such as
            ``connect_args``).

    Raises:
        ValueError: an unsupported URL.
        ImportError: the driver is not installed; the message says what to install.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    overrides = dict(engine_options or {})
    if backend != "sqlite":
        options = {**pool_options(backend), **overrides}
        engine = _create(parsed, echo=echo, options=options)
        return EngineSetup(engine=engine, single_connection=False, single_writer=False)
    memory = is_memory_sqlite(parsed)
    defaults: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = _create(parsed, echo=echo, options={**defaults, **overrides})
    _configure_sqlite(engine)
    return EngineSetup(engine=engine, single_connection=memory, single_writer=True)


def _create(url: URL, *, echo: bool, options: Mapping[str, Any]) -> AsyncEngine:
    """``create_async_engine``, which imports the driver, with a clear error if it is missing
    or cannot work."""
    driver = url.get_driver_name()
    try:
        engine = create_async_engine(url, echo=echo, **options)
    except ImportError as error:
        database, install = _install_hint(url)
        raise ImportError(
            f"{database} storage needs the {driver} driver: {install}", name=driver
        ) from error
    if driver == "aiomysql":
        _require_working_aiomysql()
    if driver == "asyncmy":
        _quiet_expected_duplicates()
    return engine


class _ExpectedDuplicates(logging.Filter):
    """Drops asyncmy's log lines for the "Duplicate entry" warnings of ``INSERT IGNORE``.

    asyncmy logs every warning MySQL returns, and the store's claims (schedule slots, locks,
    idempotency keys) are inserts that ignore a duplicate on purpose: the loser of every race
    would otherwise log a warning, several a second with a busy schedule.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Duplicate entry ")


def _quiet_expected_duplicates() -> None:
    driver_log = logging.getLogger("asyncmy")
    if not any(isinstance(existing, _ExpectedDuplicates) for existing in driver_log.filters):
        driver_log.addFilter(_ExpectedDuplicates())


def _install_hint(url: URL) -> tuple[str, str]:
    """The database's name for messages, and how to install the driver ``url`` names."""
    database, install = _INSTALL_HINTS[url.get_backend_name()]
    if url.get_driver_name() == "aiomysql":
        # Not in the extra (see _require_working_aiomysql); it needs an older PyMySQL.
        install = 'pip install aiomysql "PyMySQL<1.2", or use mysql+asyncmy://'
    return database, install


def _require_working_aiomysql() -> None:
    """Refuse an aiomysql that would fail every write.

    aiomysql (0.3.2 and earlier) escapes bytes with a PyMySQL helper that PyMySQL 1.2 dropped
    (aiomysql then fails to import) and 1.2.3 turned into a placeholder string, so every
    query with a bytes parameter (task arguments are bytes) raises
    ``TypeError: 'str' object is not callable``. Checked here, the user gets
    the remedy when the store opens instead of that error on the first save.
    """
    connection_module = importlib.import_module("aiomysql.connection")
    escape_bytes = getattr(connection_module, "escape_bytes_prefixed", None)
    if escape_bytes is not None and not callable(escape_bytes):
        raise ImportError(
            "this aiomysql cannot send binary values with PyMySQL 1.2 or later: "
            'pip install "PyMySQL<1.2", or use the default driver (mysql+asyncmy://)',
            name="aiomysql",
        )


def _safe(url: URL) -> str:
    """The URL for a message, without its password."""
    return repr(url.render_as_string(hide_password=True))


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
            _use_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode, which persists in the file once set.

    Switching needs a moment of exclusive access, and SQLite may refuse it at once (without
    waiting for the busy timeout) while other connections open the same new file; several
    instances starting together do exactly that. So the switch is retried briefly. A database
    that cannot use WAL (an in-memory one) answers with its own mode, which is kept.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.fetchone()
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
