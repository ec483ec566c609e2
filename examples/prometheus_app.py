"""Prometheus metrics for background tasks, served at /metrics.

Run it with ``uvicorn examples.prometheus_app:app`` (needs
``pip install "fastapi-taskflow[prometheus]"``), enqueue a few tasks with
``curl -X POST "http://127.0.0.1:8000/signup?address=ada@example.com"`` and read
http://127.0.0.1:8000/metrics.
"""

from __future__ import annotations

import asyncio
import random

from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import PrometheusObserver, TaskAdmin, TaskManager

# The global registry of prometheus_client: /metrics also shows the process metrics.
metrics = PrometheusObserver()
task_manager = TaskManager(loggers=[metrics], max_concurrent_tasks=4)

app = FastAPI()
TaskAdmin(app, task_manager, auto_install=True)
app.add_route("/metrics", metrics.route)


@task_manager.task(retries=2, delay=0.1)
async def send_welcome_email(address: str) -> None:
    """A mail server that times out now and then: some tasks retry, a few fail."""
    await asyncio.sleep(random.uniform(0.01, 0.05))
    if random.random() < 0.3:
        raise TimeoutError(f"mail server timed out sending to {address}")


@app.post("/signup")
async def signup(address: str, background_tasks: BackgroundTasks) -> dict[str, str]:
    return {"task_id": background_tasks.add_task(send_welcome_email, address)}
