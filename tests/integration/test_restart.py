"""With SQLite storage, history and unfinished work survive a restart of the app."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager, TaskRecord, TaskStatus, task_log
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

from .conftest import serve, wait_for_event, wait_for_status

pytestmark = pytest.mark.integration

#: Owner of the records a "crashed" process left behind; it never renewed a lease.
DEAD_INSTANCE = "dead-instance"


def sqlite_url(database: str) -> str:
    return f"sqlite:///{database}"


async def write_records(database: str, *records: TaskRecord) -> None:
    """Store records the way a process that then crashed would have left them."""
    storage = SqlAlchemyTaskStorage(sqlite_url(database), serializer=TaggedJsonSerializer())
    await storage.open()
    try:
        await storage.save(list(records))
    finally:
        await storage.close()


async def read_record(database: str, task_id: str) -> TaskRecord | None:
    storage = SqlAlchemyTaskStorage(sqlite_url(database), serializer=TaggedJsonSerializer())
    await storage.open()
    try:
        return await storage.get(task_id)
    finally:
        await storage.close()


def orphan(func_name: str, *args: object, status: TaskStatus = TaskStatus.PENDING) -> TaskRecord:
    """A task owned by a process that died without a word."""
    now = datetime.now(timezone.utc)
    return TaskRecord(
        task_id=f"orphan-{func_name}-{status.value}",
        func_name=func_name,
        status=status,
        args=args,
        created_at=now,
        start_time=now if status is TaskStatus.RUNNING else None,
        instance_id=DEAD_INSTANCE,
    )


def reporting_app(tm: TaskManager, seen: list[str]) -> FastAPI:
    """An app with a task that logs and succeeds and one that fails."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task()
    def build_report(month: str) -> None:
        task_log(f"building report for {month}")
        seen.append(month)

    @tm.task()
    def broken_report(month: str) -> None:
        raise LookupError(f"no data for {month}")

    @app.post("/reports/{month}")
    def report(month: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        func = broken_report if month == "never" else build_report
        return {"task_id": background_tasks.add_task(func, month)}

    return app


async def test_history_is_served_after_a_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "tasks.db")
    seen: list[str] = []
    async with serve(reporting_app(TaskManager(snapshot_db=database), seen)) as client:
        ok = (await client.post("/reports/2026-01")).json()["task_id"]
        bad = (await client.post("/reports/never")).json()["task_id"]
        await wait_for_status(client, ok, ["success"])
        await wait_for_status(client, bad, ["failed"])

    async with serve(reporting_app(TaskManager(snapshot_db=database), seen)) as client:
        listed = {task["task_id"]: task for task in (await client.get("/tasks")).json()}
        success = (await client.get(f"/tasks/{ok}")).json()
        failure = (await client.get(f"/tasks/{bad}")).json()
        metrics = (await client.get("/tasks/metrics")).json()

    assert seen == ["2026-01"]  # nothing ran again
    assert set(listed) == {ok, bad}
    assert listed[ok]["status"] == success["status"] == "success"
    assert any("building report for 2026-01" in line for line in success["logs"])
    assert success["duration"] is not None
    assert failure["status"] == "failed"
    assert "LookupError: no data for never" in failure["error"]
    assert "broken_report" in failure["stacktrace"]
    assert metrics["total"] == 2
    assert metrics["success"] == 1
    assert metrics["failed"] == 1


def blocking_app(
    tm: TaskManager, runs: list[str], started: asyncio.Event, *, requeue: bool
) -> FastAPI:
    """An app whose ``sync_inventory`` task blocks on its first run and returns afterwards."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    never = asyncio.Event()

    @tm.task(requeue_on_interrupt=requeue)
    async def sync_inventory(store: str) -> None:
        runs.append(store)
        started.set()
        if len(runs) == 1:
            await never.wait()  # still running when the first app shuts down
        task_log(f"inventory of {store} synced")

    @app.post("/inventory/{store}")
    async def route(store: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(sync_inventory, store, eager=True)}

    return app


async def run_until_shutdown_interrupts(database: str, runs: list[str], *, requeue: bool) -> str:
    """Start a task in a first app and stop the app while the task is running."""
    started = asyncio.Event()
    app = blocking_app(TaskManager(snapshot_db=database), runs, started, requeue=requeue)
    async with serve(app) as client:
        task_id: str = (await client.post("/inventory/north")).json()["task_id"]
        await wait_for_event(started, "the task started")
        await wait_for_status(client, task_id, ["running"])
    return task_id


async def test_a_task_running_at_shutdown_is_interrupted_after_the_restart(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "tasks.db")
    runs: list[str] = []
    task_id = await run_until_shutdown_interrupts(database, runs, requeue=False)

    app = blocking_app(TaskManager(snapshot_db=database), runs, asyncio.Event(), requeue=False)
    async with serve(app) as client:
        record = (await client.get(f"/tasks/{task_id}")).json()
        metrics = (await client.get("/tasks/metrics")).json()

    assert record["status"] == "interrupted"
    assert record["end_time"] is not None
    assert metrics["interrupted"] == 1
    assert runs == ["north"]  # not run again without requeue_on_interrupt


async def test_a_requeue_on_interrupt_task_runs_again_after_the_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "tasks.db")
    runs: list[str] = []
    task_id = await run_until_shutdown_interrupts(database, runs, requeue=True)

    app = blocking_app(TaskManager(snapshot_db=database), runs, asyncio.Event(), requeue=True)
    async with serve(app) as client:
        record = await wait_for_status(client, task_id, ["success"])

    assert runs == ["north", "north"]
    assert any("inventory of north synced" in line for line in record["logs"])
    stored = await read_record(database, task_id)
    assert stored is not None
    assert stored.status is TaskStatus.SUCCESS


def recovering_app(tm: TaskManager, delivered: list[str]) -> FastAPI:
    app = FastAPI()
    TaskAdmin(app, tm)

    @tm.task()
    def deliver(parcel: str) -> None:
        delivered.append(parcel)

    return app


async def test_pending_work_of_a_crashed_process_runs_on_the_next_start(tmp_path: Path) -> None:
    database = str(tmp_path / "tasks.db")
    record = orphan("deliver", "parcel-1")
    await write_records(database, record)
    delivered: list[str] = []

    async with serve(recovering_app(TaskManager(snapshot_db=database), delivered)) as client:
        body = await wait_for_status(client, record.task_id, ["success", "failed"])

    assert body["status"] == "success"
    assert delivered == ["parcel-1"]
    stored = await read_record(database, record.task_id)
    assert stored is not None
    assert stored.status is TaskStatus.SUCCESS


async def test_a_task_running_in_a_crashed_process_is_marked_interrupted(tmp_path: Path) -> None:
    database = str(tmp_path / "tasks.db")
    record = orphan("deliver", "parcel-2", status=TaskStatus.RUNNING)
    await write_records(database, record)
    delivered: list[str] = []

    async with serve(recovering_app(TaskManager(snapshot_db=database), delivered)) as client:
        body = await wait_for_status(client, record.task_id, ["interrupted", "success", "failed"])

    assert body["status"] == "interrupted"
    assert delivered == []


async def test_pending_work_for_a_function_this_app_lacks_fails_naming_it(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "tasks.db")
    record = orphan("retired_function", "x")
    await write_records(database, record)
    delivered: list[str] = []

    async with serve(recovering_app(TaskManager(snapshot_db=database), delivered)) as client:
        body = await wait_for_status(client, record.task_id, ["failed", "success"])

    assert body["status"] == "failed"
    assert "retired_function" in body["error"]
    assert "not registered" in body["error"]
    assert delivered == []
