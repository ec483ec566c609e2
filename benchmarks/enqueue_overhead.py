"""Per-task cost of enqueueing through fastapi-taskflow versus FastAPI's bare BackgroundTasks.

An endpoint enqueues N no-op tasks per request; requests are driven in-process through httpx's
ASGI transport, and every task has finished (and, with SQLite, been committed) before the clock
stops. Prints the median over several rounds.

    python benchmarks/enqueue_overhead.py [--tasks 100] [--requests 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager


async def noop() -> None:
    return None


def bare_app(per_request: int) -> FastAPI:
    app = FastAPI()

    @app.post("/work")
    async def work(background_tasks: BackgroundTasks) -> dict[str, int]:
        for _ in range(per_request):
            background_tasks.add_task(noop)
        return {"n": per_request}

    return app


def managed_app(per_request: int, storage_url: str) -> tuple[FastAPI, TaskManager]:
    manager = TaskManager(storage_url=storage_url)
    manager.task()(noop)
    app = FastAPI()
    TaskAdmin(app, manager, auto_install=True)

    @app.post("/work")
    async def work(background_tasks: BackgroundTasks) -> dict[str, int]:
        for _ in range(per_request):
            background_tasks.add_task(noop)
        return {"n": per_request}

    return app, manager


async def drive(app: FastAPI, requests: int, manager: TaskManager | None) -> float:
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post("/work")  # warm up
            started = time.perf_counter()
            for _ in range(requests):
                await client.post("/work")
            if manager is not None:
                await manager.service.flush()
            return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    total = options.tasks * options.requests
    results: dict[str, list[float]] = {"bare": [], "memory://": [], "sqlite": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(options.rounds):
            results["bare"].append(await drive(bare_app(options.tasks), options.requests, None))
            app, manager = managed_app(options.tasks, "memory://")
            results["memory://"].append(await drive(app, options.requests, manager))
            url = f"sqlite:///{Path(folder) / f'bench-{round_number}.db'}"
            app, manager = managed_app(options.tasks, url)
            results["sqlite"].append(await drive(app, options.requests, manager))
    bare = statistics.median(results["bare"])
    print(f"{options.requests} requests x {options.tasks} tasks, median of {options.rounds}")
    print(f"{'variant':<12}{'tasks/s':>12}{'us/task':>10}{'overhead us/task':>18}")
    for name, samples in results.items():
        seconds = statistics.median(samples)
        overhead = (seconds - bare) / total * 1e6
        print(
            f"{name:<12}{total / seconds:>12,.0f}{seconds / total * 1e6:>10.1f}{overhead:>18.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
