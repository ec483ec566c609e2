"""What is bound to a manager when it is built (observers, the admin API) follows it into
the kit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from fastapi_taskflow import PrometheusObserver, TaskAdmin, TaskManager, task_log
from fastapi_taskflow.testing import taskflow_test


def live_depth(registry: CollectorRegistry) -> float:
    """Pending plus running tasks of the default queue, as scraped."""
    total = 0.0
    for status in ("pending", "running"):
        sample = registry.get_sample_value(
            "taskflow_queue_depth", {"queue": "default", "status": status}
        )
        assert sample is not None, f"no {status} depth reported"
        total += sample
    return total


async def test_queue_depth_counts_the_tasks_the_kit_holds() -> None:
    registry = CollectorRegistry()
    manager = TaskManager(loggers=[PrometheusObserver(registry=registry)])
    release = asyncio.Event()

    @manager.task()
    async def wait_for_release() -> None:
        await release.wait()

    async with taskflow_test(manager) as kit:
        for _ in range(3):
            manager.add_task(wait_for_release)
        await asyncio.sleep(0)
        # The kit's own working set holds them, and the observer reads that one.
        assert len(kit.enqueued(wait_for_release)) == 3
        assert live_depth(registry) == 3
        release.set()
        await kit.run_until_idle()
        assert live_depth(registry) == 0


async def test_the_admin_api_reads_the_tasks_the_kit_runs(tmp_path: Path) -> None:
    # The manager's own store is a SQLite file; under the kit, the admin API must list the
    # kit's in-memory tasks and leave the file alone.
    manager = TaskManager(storage_url=f"sqlite:///{tmp_path / 'tasks.db'}")
    app = FastAPI()
    TaskAdmin(app, manager)

    @manager.task()
    async def ping(n: int) -> None:
        task_log(f"ping {n}")

    async with taskflow_test(manager) as kit, LifespanManager(app) as lifespan:
        manager.add_task(ping, 1)
        await kit.run_until_idle()
        transport = httpx.ASGITransport(app=lifespan.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            listed = (await client.get("/tasks")).json()
            [task] = listed
            detail = (await client.get(f"/tasks/{task['task_id']}")).json()
            metrics = (await client.get("/tasks/metrics")).json()
    assert task["func_name"] == "ping" and task["status"] == "success"
    assert any(line.endswith("ping 1") for line in detail["logs"])
    assert metrics["success"] == 1
    assert not (tmp_path / "tasks.db").exists()
