"""Records per second that ``RedisTaskStorage.save()`` writes.

Two shapes of write: one record per call (a lone transition written on its own) and batches
of 100 records (what the write-behind buffer commits under load). Each save goes through the
store as users get it: the Lua script that writes the task hash, its indexes (all, status,
function, queue, source, tag, unfinished) and the metric counters. Every record is new,
carries one tag and a few arguments; a second series saves the same tasks again, finished,
which also removes their old index entries.

Everything is written under a key prefix made for this run and deleted at the end.

    python benchmarks/redis_store.py [URL] [--singles 1000] [--batches 50] [--runs 5]

The URL defaults to ``TASKFLOW_TEST_REDIS_URL`` (for example ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio as aioredis
from save_rates import Rate, median_line, new_records, save_rate

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage
from fastapi_taskflow.domain.task import TaskRecord

BATCH = 100


def finished(records: Sequence[TaskRecord]) -> list[TaskRecord]:
    """The same tasks after they ran: a status change that moves them between indexes."""
    done = []
    for record in records:
        again = record.copy()
        again.start(record.created_at)
        again.succeed(record.created_at + timedelta(milliseconds=250))
        done.append(again)
    return done


async def run(url: str, args: argparse.Namespace) -> dict[str, str]:
    """A line of results per shape of write."""
    prefix = f"taskflow-bench:{uuid.uuid4().hex[:12]}"
    store = RedisTaskStorage(url, serializer=TaggedJsonSerializer(), prefix=prefix)
    await store.open()
    rates: dict[str, list[Rate]] = {
        "new, 1 per save": [],
        f"new, {BATCH} per save": [],
        "finished, 1 per save": [],
        f"finished, {BATCH} per save": [],
    }
    try:
        await save_rate(store, [new_records(1) for _ in range(50)])  # warm up
        for _ in range(args.runs):
            singles = [new_records(1) for _ in range(args.singles)]
            batches = [new_records(BATCH) for _ in range(args.batches)]
            rates["new, 1 per save"].append(await save_rate(store, singles))
            rates[f"new, {BATCH} per save"].append(await save_rate(store, batches))
            rates["finished, 1 per save"].append(
                await save_rate(store, [finished(batch) for batch in singles])
            )
            rates[f"finished, {BATCH} per save"].append(
                await save_rate(store, [finished(batch) for batch in batches])
            )
    finally:
        await store.close()
        await delete_keys(url, prefix)
    return {shape: median_line(series) for shape, series in rates.items()}


async def delete_keys(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("TASKFLOW_TEST_REDIS_URL"))
    parser.add_argument("--singles", type=int, default=1000, help="single saves per run")
    parser.add_argument("--batches", type=int, default=50, help=f"batches of {BATCH} per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.url:
        parser.error("give a Redis URL or set TASKFLOW_TEST_REDIS_URL")
    lines = asyncio.run(run(args.url, args))
    print(
        f"RedisTaskStorage.save(), median of {args.runs} runs: records per second, and "
        "CPU microseconds of this process per record"
    )
    print(f"{'':<24}  {'records/s':>9} {'CPU µs':>9}")
    for shape, line in lines.items():
        print(f"{shape:<24}  {line}")


if __name__ == "__main__":
    main()
