"""The admin API as a deployment mounts it, with a history to act on, for schema fuzzing.

Storage comes from ``TASKFLOW_STORAGE_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

task_manager = TaskManager()


@task_manager.task()
def deliver(order: int, *, note: str = "") -> None:
    if order % 2:
        raise RuntimeError(f"courier lost order {order}")


@task_manager.task()
async def tick() -> None:
    return None


task_manager.schedule(every=3600)(tick)


@asynccontextmanager
async def history(_app: FastAPI) -> AsyncIterator[None]:
    # Failed and successful tasks, so retries and deletions have something to work on.
    for order in range(6):
        task_manager.add_task(deliver, order, note="fuzz", tags={"batch": "a"})
    yield


app = FastAPI(lifespan=history)
TaskAdmin(app, task_manager, display_func_args=True)
