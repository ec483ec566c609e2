"""An app with a one-second schedule, served by several uvicorn processes on one store.

Every run appends its task id to the file named by ``TASKFLOW_TEST_RUNS_FILE`` (small
``O_APPEND`` writes do not interleave), so the test can count executions across processes.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager, get_task_context

task_manager = TaskManager()
app = FastAPI()
TaskAdmin(app, task_manager)

_RUNS_FILE = os.environ.get("TASKFLOW_TEST_RUNS_FILE", os.devnull)


@task_manager.schedule(every=1)
async def tick() -> None:
    context = get_task_context()
    assert context is not None
    fd = os.open(_RUNS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{context.task_id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
