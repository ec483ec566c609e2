"""Three processes on one store fire a one-second schedule: every slot once, none missed,
while one of them is frozen (SIGSTOP) for several seconds and then resumes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from .conftest import PATIENCE
from .uvicorn_server import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Seconds of slots watched, when the freeze starts within them, and how long it lasts.
WATCH = 24
FREEZE_AT = 6
FREEZE_FOR = 6
#: Longest wait for the watched runs to finish once the last one is due.
SETTLE = 30.0

_SLOT = re.compile(r"--- Scheduled run for the slot of (\S+) ---")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - utc_now()).total_seconds()))


async def scheduled_runs(client: httpx.AsyncClient) -> list[dict[str, object]]:
    """Every task the schedule started, from the shared store."""
    found: list[dict[str, object]] = []
    params: dict[str, str | int] = {"source": "scheduled", "func_name": "tick", "limit": 1000}
    while True:
        response = await client.get("/tasks", params=params)
        assert response.status_code == 200, response.text
        found.extend(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return found
        params["cursor"] = cursor


def slot_of(task: dict[str, object]) -> datetime:
    logs = task["logs"]
    assert isinstance(logs, list)
    for line in logs:
        match = _SLOT.search(str(line))
        if match:
            return datetime.fromisoformat(match.group(1))
    raise AssertionError(f"task {task['task_id']} does not name its slot: {logs}")


async def test_each_slot_runs_once_while_an_instance_is_frozen(
    shared_store: str, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.log"
    runs.touch()
    with ExitStack() as stack:
        servers = []
        for _ in range(3):
            server = Server(
                shared_store,
                tmp_path / f"uvicorn-{uuid.uuid4().hex[:8]}.log",
                app="taskflow_schedule_app:app",
                env={"TASKFLOW_TEST_RUNS_FILE": str(runs)},
            )
            stack.callback(server.kill)
            servers.append(server)
        for server in servers:
            server.wait_until_answering()
        frozen, watcher = servers[0], servers[1]

        first = utc_now().replace(microsecond=0) + timedelta(seconds=2)
        last = first + timedelta(seconds=WATCH)
        await sleep_until(first + timedelta(seconds=FREEZE_AT))
        os.kill(frozen.process.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(FREEZE_FOR)
        finally:
            os.kill(frozen.process.pid, signal.SIGCONT)
        await sleep_until(last + timedelta(seconds=2))  # the last slot's run has started

        async with httpx.AsyncClient(base_url=watcher.base_url, timeout=PATIENCE) as client:
            deadline = asyncio.get_running_loop().time() + SETTLE
            while True:
                tasks = await scheduled_runs(client)
                watched = [task for task in tasks if first <= slot_of(task) <= last]
                unfinished = [task for task in watched if task["status"] != "success"]
                if not unfinished:
                    break
                if asyncio.get_running_loop().time() > deadline:
                    owners = {str(task["task_id"]): task for task in unfinished}
                    logs = "\n\n".join(server.output()[-3000:] for server in servers)
                    pytest.fail(f"runs never finished: {owners}\n{logs}")
                await asyncio.sleep(0.2)
        frozen.wait_until_answering()  # it resumed and serves again
        for server in servers:  # uvicorn exits -15 after a graceful shutdown, older ones 0
            assert server.terminate() in (0, -signal.SIGTERM), server.output()
            assert "Application shutdown complete." in server.output()

    per_slot = Counter(slot_of(task) for task in tasks)
    duplicates = {slot: count for slot, count in per_slot.items() if count > 1}
    expected = [first + timedelta(seconds=n) for n in range(WATCH + 1)]
    missed = [slot for slot in expected if slot not in per_slot]
    assert duplicates == {}, duplicates
    assert missed == [], missed

    # Each run executed exactly once, on whichever instance won its slot.
    executions = Counter(line.split()[0] for line in runs.read_text().splitlines())
    watched_ids = {str(task["task_id"]) for task in watched}
    assert {task_id: executions[task_id] for task_id in watched_ids} == dict.fromkeys(
        watched_ids, 1
    )
    for server in servers:
        assert "Traceback" not in server.output(), server.output()
