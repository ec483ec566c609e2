"""An app that several uvicorn processes serve at once on one shared store.

Every run of a task appends a line to the file named by ``TASKFLOW_TEST_RUNS_FILE`` (small
``O_APPEND`` writes do not interleave), so the test can count executions across processes.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

task_manager = TaskManager(
    max_concurrent_tasks=4, lease_ttl=float(os.environ.get("TASKFLOW_TEST_LEASE_TTL", "30"))
)
app = FastAPI()
TaskAdmin(app, task_manager, auto_install=True)

_RUNS_FILE = os.environ.get("TASKFLOW_TEST_RUNS_FILE", os.devnull)


def _record_run(label: str) -> None:
    fd = os.open(_RUNS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{label} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


@task_manager.task(requeue_on_interrupt=True)
async def crunch(n: int) -> None:
    _record_run(f"crunch-{n}")
    await asyncio.sleep(0.02)


@task_manager.task()
async def charge(order: str) -> None:
    _record_run(f"charge-{order}")


@app.post("/crunch")
def enqueue_crunch(start: int, count: int, background_tasks: BackgroundTasks) -> list[str]:
    return [background_tasks.add_task(crunch, n) for n in range(start, start + count)]


@app.post("/orders/{order}/charge")
def enqueue_charge(order: str, background_tasks: BackgroundTasks) -> dict[str, str]:
    task_id = background_tasks.add_task(charge, order, idempotency_key=f"charge-{order}")
    return {"task_id": task_id}


@app.get("/instance")
def instance() -> dict[str, str]:
    return {"instance_id": task_manager.service.instance_id, "pid": str(os.getpid())}
