"""``executor="process"`` tasks run in worker processes and report their logs back."""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse

from fastapi_taskflow import TaskAdmin, TaskArgumentError, TaskManager

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker_tasks() -> Iterator[ModuleType]:
    """The task functions, importable by name here and in workers (which inherit sys.path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("taskflow_integration_tasks")


def build_app(worker_tasks: ModuleType, refused: list[BaseException]) -> FastAPI:
    tm = TaskManager(max_process_workers=1, process_shutdown_timeout=10.0)
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    count_primes = tm.task(executor="process")(worker_tasks.count_primes)
    describe = tm.task(executor="process")(worker_tasks.describe)
    refuse = tm.task(executor="process")(worker_tasks.refuse)

    @app.post("/primes/{limit}")
    def primes(limit: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(count_primes, limit)}

    @app.post("/refuse/{reason}")
    def refuse_route(reason: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(refuse, reason)}

    @app.post("/describe-lock")
    async def describe_lock(background_tasks: BackgroundTasks) -> JSONResponse:
        try:
            task_id = background_tasks.add_task(describe, threading.Lock())
        except TaskArgumentError as exc:
            refused.append(exc)
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"task_id": task_id})

    return app


async def test_a_process_task_runs_in_a_worker_and_its_logs_reach_the_record(
    worker_tasks: ModuleType,
) -> None:
    async with serve(build_app(worker_tasks, [])) as client:
        task_id = (await client.post("/primes/20000")).json()["task_id"]
        record = await wait_for_status(client, task_id, ["success", "failed"], timeout=30)

    assert record["status"] == "success", record["error"]
    assert record["executor"] == "process"
    logs = record["logs"]
    started = next(line for line in logs if "counting primes below 20000" in line)
    match = re.search(r"in process (\d+)", started)
    assert match is not None
    assert int(match.group(1)) != os.getpid()
    assert any("[WARNING]" in line and "found 2262 primes" in line for line in logs)


async def test_a_failing_process_task_reports_the_error_and_the_worker_stack(
    worker_tasks: ModuleType,
) -> None:
    async with serve(build_app(worker_tasks, [])) as client:
        task_id = (await client.post("/refuse/quota")).json()["task_id"]
        record = await wait_for_status(client, task_id, ["failed", "success"], timeout=30)

    assert record["status"] == "failed"
    assert record["error"] == "PermissionError: refused: quota"
    assert "in refuse" in record["stacktrace"]
    assert 'raise PermissionError(f"refused: {reason}")' in record["stacktrace"]


async def test_an_argument_that_cannot_reach_a_worker_is_refused_inside_the_route(
    worker_tasks: ModuleType,
) -> None:
    refused: list[BaseException] = []
    async with serve(build_app(worker_tasks, refused)) as client:
        response = await client.post("/describe-lock")
        listed = (await client.get("/tasks")).json()

    assert response.status_code == 400
    assert len(refused) == 1
    assert isinstance(refused[0], TaskArgumentError)
    assert "positional argument 0" in response.json()["detail"]
    assert listed == []  # nothing was enqueued


async def test_process_tasks_still_run_when_the_same_app_is_started_again(
    worker_tasks: ModuleType,
) -> None:
    """Test suites and reloaders start one app object several times; its pool must come back."""
    app = build_app(worker_tasks, [])
    for _ in range(2):
        async with serve(app) as client:
            task_id = (await client.post("/primes/100")).json()["task_id"]
            record = await wait_for_status(client, task_id, ["success"], timeout=30)
            assert any("found 25 primes" in line for line in record["logs"])
