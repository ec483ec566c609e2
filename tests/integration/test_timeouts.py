"""Per-attempt timeouts through a real app: async tasks are cancelled, thread tasks abandoned,
process tasks have their worker killed and replaced."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration

#: Real seconds a test waits for something that should happen quickly.
PATIENCE = 30.0


@pytest.fixture(scope="module")
def worker_tasks() -> Iterator[ModuleType]:
    """The process task functions, importable by name here and in workers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("taskflow_integration_tasks")


async def test_an_async_task_past_its_timeout_fails_and_is_retried() -> None:
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    cancelled: list[int] = []

    @tm.task(retries=1, timeout=0.2)
    async def fetch_feed(url: str) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(1)
            raise

    @app.post("/feeds")
    def add_feed(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(fetch_feed, "https://example.org/rss")}

    @app.post("/feeds/quick")
    def add_feed_quickly(background_tasks: BackgroundTasks) -> dict[str, str]:
        task_id = background_tasks.add_task(fetch_feed, "https://example.org/rss", timeout=0.05)
        return {"task_id": task_id}

    async with serve(app) as client:
        task_id = (await client.post("/feeds")).json()["task_id"]
        record = await wait_for_status(client, task_id, ["failed"], timeout=PATIENCE)
        quick_id = (await client.post("/feeds/quick")).json()["task_id"]
        quick = await wait_for_status(client, quick_id, ["failed"], timeout=PATIENCE)

    assert record["error"] == "TaskTimeout: fetch_feed timed out after 0.2s on attempt 2"
    assert record["timeout"] == 0.2
    assert record["retries_used"] == 1
    assert any("Attempt 1 failed: TaskTimeout" in line for line in record["logs"])
    assert quick["timeout"] == 0.05
    assert quick["error"] == "TaskTimeout: fetch_feed timed out after 0.05s on attempt 2"
    assert len(cancelled) == 4  # every attempt saw its cancellation


async def test_a_thread_task_past_its_timeout_is_abandoned_and_its_result_ignored() -> None:
    tm = TaskManager(max_sync_threads=2)
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    entered, release = threading.Event(), threading.Event()
    returned: list[str] = []

    @tm.task(timeout=0.2)
    def export_rows() -> str:
        entered.set()
        release.wait(PATIENCE)
        returned.append("late")
        return "late result"

    @app.post("/exports")
    def start_export(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(export_rows)}

    try:
        async with serve(app) as client:
            task_id = (await client.post("/exports")).json()["task_id"]
            record = await wait_for_status(client, task_id, ["failed"], timeout=PATIENCE)
            assert entered.is_set()
            assert record["error"] == "TaskTimeout: export_rows timed out after 0.2s on attempt 1"
            assert any("its thread keeps running" in line for line in record["logs"])

            release.set()  # the abandoned call returns now
            deadline = asyncio.get_running_loop().time() + PATIENCE
            while not returned:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            after = (await client.get(f"/tasks/{task_id}")).json()
            assert after["status"] == "failed"
            assert after["end_time"] == record["end_time"]
            assert after["logs"] == record["logs"]
    finally:
        release.set()


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_runaway_process_task_is_killed_and_the_pool_serves_on(
    worker_tasks: ModuleType, tmp_path: Path
) -> None:
    tm = TaskManager(max_process_workers=2, process_shutdown_timeout=5.0)
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    spin = tm.task(executor="process", timeout=1.5)(worker_tasks.spin_forever)
    wait = tm.task(executor="process")(worker_tasks.wait_for_file)
    primes = tm.task(executor="process")(worker_tasks.count_primes)
    pid_file = tmp_path / "spinner.pid"
    go = tmp_path / "go"

    # Eager, so each request returns at once: through ASGITransport a request lasts until
    # its after-response tasks are done.
    @app.post("/spin")
    def start_spin(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(spin, str(pid_file), eager=True)}

    @app.post("/wait")
    def start_wait(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(wait, str(go), PATIENCE, eager=True)}

    @app.post("/primes")
    def start_primes(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(primes, 1000)}

    async with serve(app) as client:
        # A call in the other worker runs across the kill and must finish unharmed.
        waiting_id = (await client.post("/wait")).json()["task_id"]
        await wait_for_status(client, waiting_id, ["running"], timeout=PATIENCE)
        spin_id = (await client.post("/spin")).json()["task_id"]
        record = await wait_for_status(client, spin_id, ["failed"], timeout=PATIENCE)
        assert record["error"] == "TaskTimeout: spin_forever timed out after 1.5s on attempt 1"

        pid = int(pid_file.read_text())
        assert pid != os.getpid()
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while not process_is_gone(pid):  # killed and reaped: its CPU is free again
            assert asyncio.get_running_loop().time() < deadline, f"worker {pid} still alive"
            await asyncio.sleep(0.02)

        go.touch()
        waited = await wait_for_status(client, waiting_id, ["success"], timeout=PATIENCE)
        assert waited["status"] == "success"

        primes_id = (await client.post("/primes")).json()["task_id"]
        counted = await wait_for_status(client, primes_id, ["success"], timeout=PATIENCE)
        assert any("found 168 primes" in line for line in counted["logs"])
        assert tm.service.registry.executor(tm.service.registry.get(primes).executor).workers <= 2
