"""A small app that the uvicorn integration test serves in a subprocess.

Storage comes from the ``TASKFLOW_STORAGE_URL`` environment variable, as in a deployment.
"""

from __future__ import annotations

import threading

from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager, task_log

task_manager = TaskManager()
app = FastAPI()
TaskAdmin(app, task_manager, auto_install=True)


@task_manager.task(retries=1)
def send_welcome(address: str) -> None:
    task_log(f"welcome mail sent to {address}")


@app.post("/signup")
def signup(email: str, background_tasks: BackgroundTasks) -> dict[str, str]:
    return {"task_id": background_tasks.add_task(send_welcome, address=email)}


#: Never set: ``stuck_export`` is still running whenever the server is told to stop.
_never = threading.Event()


@task_manager.task()
def stuck_export(report: str) -> None:
    task_log(f"exporting {report}")
    _never.wait(timeout=120)


@app.post("/export")
def export(report: str, background_tasks: BackgroundTasks) -> dict[str, str]:
    return {"task_id": background_tasks.add_task(stuck_export, report, eager=True)}
