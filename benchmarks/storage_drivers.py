"""Rows per second that ``SqlAlchemyTaskStorage.save()`` writes with each async driver, and
the CPU time it costs the application process per row.

Two shapes of write: one record per call (a lone transition committed on its own) and
batches of 100 records (what the write-behind buffer commits under load). Every save goes
through the store, so it includes what users get: the upsert of the task row and the rewrite
of its tag rows. Each record is new (an insert) and carries one tag and a few arguments.

The server drivers run in a scratch database created on each server for this run and dropped
at the end; SQLite writes a file in a temporary directory. A driver whose server URL is not
given, or whose package is not installed, is reported as skipped, and one that cannot work
(an incompatible version) as failed. Drivers take turns within each run, so a change of load
on the machine does not favour one of them.

    python benchmarks/storage_drivers.py [--postgres URL] [--mysql URL]
        [--singles 300] [--batches 20] [--runs 5]

The server URLs default to ``TASKFLOW_TEST_POSTGRES_URL`` and ``TASKFLOW_TEST_MYSQL_URL``
(for example ``postgresql://user@127.0.0.1:5432/postgres``); the database they name is only
used to create and drop the scratch one.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from save_rates import Rate, median_line, new_records, save_rate
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

BATCH = 100

#: Records saved before measuring, so the tables are not empty.
PREFILL = 2_000


@dataclass(frozen=True)
class Driver:
    """One driver to measure: its name, the server it talks to and its Python module."""

    name: str
    server: str  # "postgres", "mysql" or "sqlite"
    module: str


DRIVERS = (
    Driver("asyncpg", "postgres", "asyncpg"),
    Driver("psycopg", "postgres", "psycopg"),
    Driver("asyncmy", "mysql", "asyncmy"),
    Driver("aiomysql", "mysql", "aiomysql"),
    Driver("aiosqlite", "sqlite", "aiosqlite"),
)


async def open_store(url: str) -> SqlAlchemyTaskStorage:
    """An open store on ``url``, warmed up and with tables that have planner statistics."""
    store = SqlAlchemyTaskStorage(url, serializer=TaggedJsonSerializer())
    await store.open()
    try:
        # Warm up the pool, prepared statements and the server's caches, and measure tables
        # with planner statistics, as a database that has run for a minute has them.
        await save_rate(store, [new_records(1) for _ in range(20)])
        await save_rate(store, [new_records(BATCH) for _ in range(PREFILL // BATCH)])
        await refresh_statistics(url)
    except BaseException:
        await store.close()
        raise
    return store


async def refresh_statistics(url: str) -> None:
    """Run ANALYZE, which autovacuum would have done within a minute.

    Without statistics PostgreSQL guesses that a 100-value ``IN`` list matches half of a
    table and scans all of it, so a fresh table would slow down with every batch.
    """
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    statement = "ANALYZE"
    if engine.dialect.name in ("mysql", "mariadb"):
        statement = "ANALYZE TABLE taskflow_tasks, taskflow_task_tags"
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of ``server_url`` (no driver in the URL), dropped
    afterwards. Yields its URL, also without a driver."""
    parsed = make_url(server_url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    driver = "asyncpg" if backend == "postgresql" else "asyncmy"
    admin = create_async_engine(
        parsed.set(drivername=f"{backend}+{driver}"), isolation_level="AUTOCOMMIT"
    )
    name = f"taskflow_bench_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            drop = f"DROP DATABASE IF EXISTS {name}"
            if backend == "postgresql":
                drop += " WITH (FORCE)"
            async with admin.connect() as connection:
                await connection.execute(text(drop))
    finally:
        await admin.dispose()


def with_driver(url: str, driver: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(
        hide_password=False
    )


async def prepare(
    driver: Driver, server: str | None, stack: AsyncExitStack
) -> SqlAlchemyTaskStorage:
    """An open store for ``driver`` in a scratch database (or file) that ``stack`` removes."""
    if server is None:
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        url = f"sqlite+aiosqlite:///{Path(directory) / 'tasks.db'}"
    else:
        database = await stack.enter_async_context(scratch_database(server))
        url = with_driver(database, driver.name)
    store = await open_store(url)
    stack.push_async_callback(store.close)
    return store


async def run(args: argparse.Namespace) -> dict[str, str]:
    """A line of results for each driver."""
    servers: dict[str, str | None] = {"postgres": args.postgres, "mysql": args.mysql}
    lines: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        stores: dict[str, SqlAlchemyTaskStorage] = {}
        for driver in DRIVERS:
            server = servers.get(driver.server)
            if importlib.util.find_spec(driver.module) is None:
                lines[driver.name] = f"skipped: {driver.module} is not installed"
            elif driver.server != "sqlite" and not server:
                lines[driver.name] = f"skipped: no {driver.server} URL given"
            else:
                try:
                    stores[driver.name] = await prepare(driver, server, stack)
                except Exception as error:  # a driver that cannot work is a result too
                    lines[driver.name] = f"failed: {type(error).__name__}: {error}"
        singles: dict[str, list[Rate]] = {name: [] for name in stores}
        batches: dict[str, list[Rate]] = {name: [] for name in stores}
        # Drivers take turns within each run, so a change of load on a shared machine
        # affects all of them alike instead of whichever was measured at the time.
        for _ in range(args.runs):
            for name, store in stores.items():
                singles[name].append(
                    await save_rate(store, [new_records(1) for _ in range(args.singles)])
                )
                batches[name].append(
                    await save_rate(store, [new_records(BATCH) for _ in range(args.batches)])
                )
    for name in stores:
        lines[name] = f"{median_line(singles[name])}   {median_line(batches[name])}"
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TASKFLOW_TEST_POSTGRES_URL"))
    parser.add_argument("--mysql", default=os.environ.get("TASKFLOW_TEST_MYSQL_URL"))
    parser.add_argument("--singles", type=int, default=300, help="single saves per run")
    parser.add_argument("--batches", type=int, default=20, help=f"batches of {BATCH} per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lines = asyncio.run(run(args))
    print(
        f"SqlAlchemyTaskStorage.save(), median of {args.runs} runs: rows per second, and "
        "CPU microseconds of this process per row"
    )
    print(f"{'':<10}  {'single saves':^19}   {f'batches of {BATCH}':^19}")
    print(f"{'driver':<10}  {'rows/s':>9} {'CPU µs':>9}   {'rows/s':>9} {'CPU µs':>9}")
    for driver in DRIVERS:
        print(f"{driver.name:<10}  {lines[driver.name]}")


if __name__ == "__main__":
    main()
