"""How many schedule claims each store settles per second, alone and with racing instances.

Three measurements per store, each claim writing the pending task it starts, as the scheduler
does:

* slot claims by one client, one slot after another (an entry no one else fires);
* slot claims raced by three clients for every slot (three instances firing one entry); each
  slot must have exactly one winner, which is checked;
* one-off runs stored, then claimed one by one.

The server stores run in a scratch database (or key prefix) made for this run and removed at
the end; SQLite writes a file in a temporary directory.

    python benchmarks/schedule_claims.py [--postgres URL] [--mysql URL] [--redis URL]
        [--claims 300] [--runs 3]

The URLs default to ``TASKFLOW_TEST_POSTGRES_URL``, ``TASKFLOW_TEST_MYSQL_URL`` and
``TASKFLOW_TEST_REDIS_URL``; a store whose URL is missing is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from save_rates import new_records
from storage_drivers import scratch_database

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.ports.storage import TaskStorage

RACERS = 3
_START = datetime(2026, 1, 1, tzinfo=timezone.utc)

#: Makes another client of the same store.
Clients = Callable[[], TaskStorage]


def slot(n: int) -> datetime:
    return _START + timedelta(seconds=n)


async def sequential_slots(client: TaskStorage, entry: str, count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        (record,) = new_records(1)
        assert await client.claim_slot(entry, slot(n), record)
    return count / (time.perf_counter() - start)


async def raced_slots(clients: list[TaskStorage], entry: str, count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        records = new_records(len(clients))
        won = await asyncio.gather(
            *(
                client.claim_slot(entry, slot(n), rec)
                for client, rec in zip(clients, records, strict=True)
            )
        )
        assert won.count(True) == 1, f"slot {n}: {won.count(True)} winners"
    return count / (time.perf_counter() - start)


async def one_off_claims(client: TaskStorage, prefix: str, count: int) -> float:
    runs = [
        ScheduledOnce(
            run_key=f"{prefix}-{n}",
            func_name="expire_trial",
            run_at=slot(n),
            token="v1",
            args=(n,),
            created_at=_START,
        )
        for n in range(count)
    ]
    for run in runs:
        await client.save_one_off(run)
    start = time.perf_counter()
    for run in runs:
        (record,) = new_records(1)
        assert await client.claim_one_off(run.run_key, run.token, record)
    return count / (time.perf_counter() - start)


@asynccontextmanager
async def store_clients(kind: str, url: str | None) -> AsyncIterator[Clients]:
    """A factory of clients of one empty store of ``kind``."""
    serializer = TaggedJsonSerializer()
    if kind == "memory":
        store = MemoryTaskStorage()
        yield lambda: store
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "tasks.db"
            yield lambda: SqlAlchemyTaskStorage(f"sqlite:///{path}", serializer=serializer)
    elif kind == "redis":
        import redis.asyncio as aioredis

        from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage

        assert url is not None
        prefix = f"taskflow-bench:{uuid.uuid4().hex[:12]}"
        try:
            yield lambda: RedisTaskStorage(url, serializer=serializer, prefix=prefix)
        finally:
            cleaner = aioredis.Redis.from_url(url)
            keys = [key async for key in cleaner.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await cleaner.delete(*keys)
            await cleaner.aclose()
    else:
        assert url is not None
        async with scratch_database(url) as database:
            yield lambda: SqlAlchemyTaskStorage(database, serializer=serializer)


async def measure(kind: str, url: str | None, args: argparse.Namespace) -> str:
    rates: dict[str, list[float]] = {"slots": [], "raced": [], "one-offs": []}
    async with store_clients(kind, url) as make, AsyncExitStack() as stack:
        clients = []
        for _ in range(RACERS):
            client = make()
            await client.open()
            stack.push_async_callback(client.close)
            clients.append(client)
        for run in range(args.runs):
            rates["slots"].append(await sequential_slots(clients[0], f"alone-{run}", args.claims))
            rates["raced"].append(await raced_slots(clients, f"raced-{run}", args.claims))
            rates["one-offs"].append(await one_off_claims(clients[0], f"run-{run}", args.claims))
    return " ".join(f"{statistics.median(values):>12,.0f}" for values in rates.values())


async def run(args: argparse.Namespace) -> None:
    stores = {
        "memory": "memory://",
        "sqlite": "sqlite",
        "postgresql": args.postgres,
        "mysql": args.mysql,
        "redis": args.redis,
    }
    print(f"{'store':<12} {'slots/s':>12} {'raced/s':>12} {'one-offs/s':>12}")
    for kind, url in stores.items():
        if url is None:
            print(f"{kind:<12} skipped (no URL)")
            continue
        print(f"{kind:<12} {await measure(kind, url, args)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TASKFLOW_TEST_POSTGRES_URL"))
    parser.add_argument("--mysql", default=os.environ.get("TASKFLOW_TEST_MYSQL_URL"))
    parser.add_argument("--redis", default=os.environ.get("TASKFLOW_TEST_REDIS_URL"))
    parser.add_argument("--claims", type=int, default=300, help="claims per measurement")
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
