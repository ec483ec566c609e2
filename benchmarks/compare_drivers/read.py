"""Milliseconds the read APIs take with a large finished history in SQLite.

Seeds ``--tasks`` finished tasks (nine in ten succeeded, ended over the last day) through the
subject's own storage code, starts the application on that file, then times, as medians over
``--runs`` requests through httpx's ASGI transport: ``GET /tasks`` (the current package
returns a page of 100; the releases only offer the whole list), ``GET /tasks/metrics`` and the
dashboard page ``GET /tasks/dashboard``. Prints one JSON object.

    python read.py --db PATH [--tasks 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from subject_app import KIND, build

BATCH = 1000


def finished(count: int) -> list[tuple[str, datetime, datetime, bool]]:
    """Task id, start, end and outcome of ``count`` finished tasks."""
    chance = random.Random(7)
    now = datetime.now(timezone.utc)
    rows = []
    for n in range(count):
        ended = now - timedelta(seconds=chance.uniform(0, 23 * 3600))
        started = ended - timedelta(seconds=10 ** chance.uniform(-3, 1.8))
        rows.append((f"hist-{n}-{uuid.uuid4().hex[:6]}", started, ended, chance.random() < 0.9))
    return rows


async def seed_current(path: str, count: int) -> None:
    from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
    from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
    from fastapi_taskflow.domain.task import TaskRecord

    store = SqlAlchemyTaskStorage(f"sqlite:///{path}", serializer=TaggedJsonSerializer())
    await store.open()
    try:
        records = []
        for task_id, started, ended, ok in finished(count):
            record = TaskRecord(task_id=task_id, func_name="job", created_at=started, args=(1,))
            record.start(started)
            if ok:
                record.succeed(ended)
            else:
                record.fail(ended, "RuntimeError: upstream refused")
            records.append(record)
        for start in range(0, len(records), BATCH):
            await store.save(records[start : start + BATCH])
    finally:
        await store.close()


async def seed_original(path: str, count: int) -> None:
    from fastapi_taskflow.backends import SqliteBackend  # type: ignore[import-not-found]
    from fastapi_taskflow.models import TaskRecord, TaskStatus  # type: ignore[import-not-found]

    backend = SqliteBackend(path)
    records = [
        TaskRecord(
            task_id=task_id,
            func_name="job",
            status=TaskStatus.SUCCESS if ok else TaskStatus.FAILED,
            args=(1,),
            created_at=started.replace(tzinfo=None),
            start_time=started.replace(tzinfo=None),
            end_time=ended.replace(tzinfo=None),
            error=None if ok else "RuntimeError: upstream refused",
        )
        for task_id, started, ended, ok in finished(count)
    ]
    for start in range(0, len(records), BATCH):
        await backend.save(records[start : start + BATCH])
    await backend.close()


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> dict[str, Any]:
    samples = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return {"ms": statistics.median(samples) * 1000, "bytes": size}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    seed = seed_current if KIND == "current" else seed_original
    await seed(options.db, options.tasks)
    subject = build(f"sqlite:{options.db}")
    async with LifespanManager(subject.app, startup_timeout=300):
        transport = httpx.ASGITransport(app=subject.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            result = {
                "tasks_ms": await timed(client, "/tasks?limit=100", options.runs),
                "metrics_ms": await timed(client, "/tasks/metrics", options.runs),
                "dashboard_ms": await timed(client, "/tasks/dashboard", options.runs),
            }
    print(json.dumps({key: value["ms"] for key, value in result.items()}))


if __name__ == "__main__":
    asyncio.run(main())
