"""The quick start: an existing FastAPI route gains retries, tracking and a dashboard.

Run it with ``uvicorn examples.basic_app:app --reload`` and open
http://localhost:8000/tasks/dashboard.
"""

from __future__ import annotations

import time

from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

# 1. Create the task manager (tasks are stored in a SQLite file)
task_manager = TaskManager(snapshot_db="tasks.db", snapshot_interval=30.0)
app = FastAPI()

# 2. Mount the admin routes and wire up lifecycle management
TaskAdmin(app, task_manager, auto_install=True)


# 3. Define tasks
@task_manager.task(retries=3, delay=1.0, backoff=2.0)
def send_email(address: str) -> None:
    time.sleep(0.05)
    print(f"Sending email to {address}")


@task_manager.task(retries=1, delay=0.5)
async def process_webhook(payload: dict) -> None:
    print(f"Processing webhook: {payload}")


# 4. Use tasks in routes
@app.post("/signup")
def signup(email: str, background_tasks: BackgroundTasks):
    task_id = background_tasks.add_task(send_email, address=email)
    return {"task_id": task_id}
