"""Tasks per second when an endpoint enqueues many tasks per request (in process).

Requests go through httpx's ASGI transport, one after another; the clock stops once every
task has finished and, with storage, the subject has made it durable. Prints one JSON object.

    python inproc.py [--storage memory] [--per-request 100] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from asgi_lifespan import LifespanManager
from subject_app import build


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage", default="memory")
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    options = parser.parse_args()
    subject = build(options.storage, per_request=options.per_request)
    total = options.per_request * options.requests
    async with LifespanManager(subject.app):
        transport = httpx.ASGITransport(app=subject.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/enqueue")  # warm up
            await subject.wait_done(options.per_request)
            started = time.perf_counter()
            for _ in range(options.requests):
                response = await client.get("/enqueue")
                response.raise_for_status()
            await subject.wait_done(options.per_request + total)
            await subject.persist()
            seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "tasks_per_s": total / seconds,
                "us_per_task": seconds / total * 1e6,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
