"""Bytes the process keeps per completed task (tracemalloc, after a full collection).

The subject runs with ``--storage`` (default: in memory). A warm-up batch runs first, so
caches, pools and a bounded window of recent tasks are filled before the baseline; the
difference between the traced size after ``--tasks`` more tasks and that baseline, divided by
``--tasks``, is what each completed task leaves behind. tracemalloc counts Python allocations
only, which is where task records live, and is not blurred by the allocator keeping freed
pages the way an RSS delta is; the RSS delta is printed too for reference.

    python memory.py [--tasks 100000] [--per-request 100] [--storage memory]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import tracemalloc

import httpx
from asgi_lifespan import LifespanManager
from subject_app import build


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--storage", default="memory")
    options = parser.parse_args()
    subject = build(options.storage, per_request=options.per_request)
    async with LifespanManager(subject.app):
        transport = httpx.ASGITransport(app=subject.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def run(tasks: int) -> None:
                target = subject.counter.done + tasks
                for _ in range(tasks // options.per_request):
                    (await client.get("/enqueue")).raise_for_status()
                await subject.wait_done(target)
                await subject.persist()

            await run(options.warmup)
            gc.collect()
            tracemalloc.start()
            traced_before = tracemalloc.get_traced_memory()[0]
            rss_before = rss_bytes()
            await run(options.tasks)
            # Let the loop finish callbacks scheduled by the last tasks.
            for _ in range(100):
                await asyncio.sleep(0)
            gc.collect()
            traced_after = tracemalloc.get_traced_memory()[0]
            rss_after = rss_bytes()
            tracemalloc.stop()
    print(
        json.dumps(
            {
                "bytes_per_task": (traced_after - traced_before) / options.tasks,
                "rss_bytes_per_task": (rss_after - rss_before) / options.tasks,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
