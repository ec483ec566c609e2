"""Shared helpers for the integration tests: serving an app, waiting for tasks, isolation."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi.dependencies.utils as dependency_utils
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_taskflow import TaskManager, TaskRecord, TaskStatus
from fastapi_taskflow.entrypoints.fastapi import managed_tasks

#: Longest wait for something that should happen within milliseconds; reaching it fails.
PATIENCE = 10.0

#: Pause between two looks at a task that is not there yet.
POLL = 0.01


@pytest.fixture(autouse=True)
def _restore_installed_manager() -> Iterator[None]:
    """Undo ``install()`` after each test.

    ``install()`` is process-wide (it swaps the class FastAPI instantiates for
    ``BackgroundTasks`` parameters and remembers the manager); without this, a later test (or
    another test module) would silently inject a manager whose app has already stopped.
    """
    original_class = dependency_utils.BackgroundTasks  # type: ignore[attr-defined]
    original_managers = list(managed_tasks._installed)
    yield
    dependency_utils.BackgroundTasks = original_class  # type: ignore[attr-defined]
    managed_tasks._installed[:] = original_managers


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "redis"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store that several processes can share: one SQLite file,
    PostgreSQL, MariaDB or Redis."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield f"{url}?prefix={request.getfixturevalue('redis_prefix')}"
        return
    drop_task_tables = request.getfixturevalue("drop_task_tables")
    url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    drop_task_tables(url)
    yield url
    drop_task_tables(url)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` (running its lifespan) and yield a client talking to it in-process.

    Leaving the block shuts the app down, as a server would on SIGTERM.
    """
    async with (
        LifespanManager(app, startup_timeout=PATIENCE, shutdown_timeout=PATIENCE) as running,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=running.app), base_url="http://test"
        ) as client,
    ):
        yield client


async def wait_for_status(
    client: httpx.AsyncClient,
    task_id: str,
    statuses: Iterable[str] = ("success",),
    *,
    timeout: float = PATIENCE,
    prefix: str = "/tasks",
) -> dict[str, Any]:
    """Poll ``GET /tasks/{task_id}`` until the task has one of ``statuses``; return its JSON.

    Fails the test with the last status seen when ``timeout`` seconds pass first, and at once
    (with the task's error) when the task finished with a status not asked for.
    """
    wanted = set(statuses)
    deadline = time.monotonic() + timeout
    last: Any = "never fetched"
    while True:
        response = await client.get(f"{prefix}/{task_id}")
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            last = body["status"]
            if last in wanted:
                return body
            if TaskStatus(last).is_terminal:
                pytest.fail(
                    f"task {task_id} ended {last!r}, expected {sorted(wanted)}; "
                    f"error: {body['error']}\n{body['stacktrace'] or ''}"
                )
        else:
            last = f"HTTP {response.status_code}: {response.text}"
        if time.monotonic() > deadline:
            pytest.fail(
                f"task {task_id} did not reach {sorted(wanted)} in {timeout}s; last: {last}"
            )
        await asyncio.sleep(POLL)


async def wait_for_record(
    manager: TaskManager,
    task_id: str,
    statuses: Iterable[TaskStatus] = (TaskStatus.SUCCESS,),
    *,
    timeout: float = PATIENCE,
) -> TaskRecord:
    """Poll ``manager.get_task()`` until the task has one of ``statuses``; return the record."""
    wanted = set(statuses)
    deadline = time.monotonic() + timeout
    last: Any = "never found"
    while True:
        record = await manager.get_task(task_id)
        if record is not None:
            last = record.status.value
            if record.status in wanted:
                return record
            if record.status.is_terminal:
                pytest.fail(
                    f"task {task_id} ended {last!r}, expected "
                    f"{sorted(status.value for status in wanted)}; error: {record.error}\n"
                    f"{record.stacktrace or ''}"
                )
        if time.monotonic() > deadline:
            names = sorted(status.value for status in wanted)
            pytest.fail(f"task {task_id} did not reach {names} in {timeout}s; last: {last}")
        await asyncio.sleep(POLL)


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], what: str, *, timeout: float = PATIENCE
) -> None:
    """Poll ``condition`` (plain or async) until it holds; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting until {what}")
        await asyncio.sleep(POLL)


async def wait_for_event(
    event: threading.Event | asyncio.Event, what: str, *, timeout: float = PATIENCE
) -> None:
    """Wait for a thread or asyncio event set by task code; fail naming ``what`` otherwise."""
    await wait_until(event.is_set, what, timeout=timeout)


class ResponseTimeline:
    """ASGI wrapper that appends ``"response sent"`` to a shared list once a response's last
    body chunk has been handed to the server, so tests can check what ran before and after."""

    def __init__(self, app: ASGIApp, events: list[str]) -> None:
        self.app = app
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.events.append("response sent")

        await self.app(scope, receive, noting)


@asynccontextmanager
async def serve_with_timeline(app: FastAPI, events: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    """Like :func:`serve`, noting in ``events`` when each response has been sent."""
    async with (
        LifespanManager(app, startup_timeout=PATIENCE, shutdown_timeout=PATIENCE) as running,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ResponseTimeline(running.app, events)),
            base_url="http://test",
        ) as client,
    ):
        yield client
