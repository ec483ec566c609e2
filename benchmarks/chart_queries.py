"""How long the dashboard's read aggregates take on a store holding a large history.

Fills each store with ``--tasks`` finished tasks (mixed outcomes, durations from 1 ms to a
minute, ended over the last day), then times, as medians over ``--runs``:

* ``activity``: tasks finished per interval, 48 intervals over 24 hours (the activity chart);
* ``durations``: the duration histogram (the durations chart);
* ``metrics``: counts and duration statistics (``GET /tasks/metrics``);
* ``audit``: the first page of 100 audit entries, with 1,000 stored.

    python benchmarks/chart_queries.py [--postgres URL] [--mysql URL] [--redis URL]
        [--tasks 50000] [--runs 5]

URLs default to ``TASKFLOW_TEST_POSTGRES_URL``, ``TASKFLOW_TEST_MYSQL_URL`` and
``TASKFLOW_TEST_REDIS_URL``; a store without one is skipped. Server stores use a scratch
database or key prefix, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from schedule_claims import store_clients

from fastapi_taskflow.domain.activity import trailing_window
from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditQuery
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

BATCH = 1000


def history(count: int, now: datetime) -> list[TaskRecord]:
    chance = random.Random(7)
    records = []
    for n in range(count):
        # Within the last 23 hours: inside the 24-hour window whatever its alignment.
        ended = now - timedelta(seconds=chance.uniform(0, 23 * 3600))
        took = 10 ** chance.uniform(-3, 1.8)
        record = TaskRecord(
            task_id=f"hist-{n}-{uuid.uuid4().hex[:6]}",
            func_name=chance.choice(["send_email", "charge_card", "sync_crm", "resize"]),
            created_at=ended - timedelta(seconds=took + 0.01),
            args=("user@example.com",),
            tags={"tenant": chance.choice(["acme", "globex"])},
        )
        record.start(ended - timedelta(seconds=took))
        if chance.random() < 0.9:
            record.succeed(ended)
        else:
            record.fail(ended, "RuntimeError: upstream refused")
        records.append(record)
    return records


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def measure(store: TaskStorage, args: argparse.Namespace) -> list[float]:
    now = datetime.now(timezone.utc)
    records = history(args.tasks, now)
    for start in range(0, len(records), BATCH):
        await store.save(records[start : start + BATCH])
    for n in range(1000):
        await store.append_audit(
            AuditEntry(
                entry_id=uuid.uuid4().hex,
                at=now - timedelta(seconds=n),
                actor="alice",
                action=AuditAction.RETRY,
                task_ids=(records[n].task_id,),
            )
        )
    window = trailing_window(now, timedelta(hours=24), 48)
    activity = await store.activity(window)
    finished = sum(sum(bucket.values()) for bucket in activity.buckets)
    assert finished == args.tasks, f"activity counted {finished} of {args.tasks}"
    return [
        await timed(lambda: store.activity(window), args.runs),
        await timed(lambda: store.duration_histogram(), args.runs),
        await timed(lambda: store.metrics(TaskQuery()), args.runs),
        await timed(lambda: store.audit_entries(AuditQuery(), limit=100), args.runs),
    ]


async def run(args: argparse.Namespace) -> None:
    stores = {
        "memory": "memory://",
        "sqlite": "sqlite",
        "postgresql": args.postgres,
        "mysql": args.mysql,
        "redis": args.redis,
    }
    print(f"{args.tasks:,} finished tasks; median milliseconds over {args.runs} runs")
    print(f"{'store':<12} {'activity':>10} {'durations':>10} {'metrics':>10} {'audit':>10}")
    for kind, url in stores.items():
        if url is None:
            print(f"{kind:<12} skipped (no URL)")
            continue
        async with store_clients(kind, url) as make:
            store = make()
            if kind == "memory":
                store = type(store)(max_finished=args.tasks)
            await store.open()
            try:
                results = await measure(store, args)
            finally:
                await store.close()
        print(f"{kind:<12} " + " ".join(f"{value:>10.1f}" for value in results), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TASKFLOW_TEST_POSTGRES_URL"))
    parser.add_argument("--mysql", default=os.environ.get("TASKFLOW_TEST_MYSQL_URL"))
    parser.add_argument("--redis", default=os.environ.get("TASKFLOW_TEST_REDIS_URL"))
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
