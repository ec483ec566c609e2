"""The same small application built on whichever subject this virtualenv holds.

``BENCH_SUBJECT_KIND`` names it: ``bare`` (FastAPI's own ``BackgroundTasks``), ``original``
(the fastapi-taskflow releases on PyPI, 0.8.x to 0.12.x) or ``current`` (this checkout). Each
variant is written the way that subject's documentation shows it, so the numbers compare what a
user would deploy. ``GET /enqueue`` adds ``per_request`` tasks through the endpoint's
``BackgroundTasks``; ``GET /bench/stats`` says how many were enqueued and how many finished.

Storage is named by one string: ``memory``, ``sqlite:<path>``, ``postgresql://…``,
``mysql://…`` or ``redis://…?prefix=<prefix>``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import BackgroundTasks, FastAPI

KIND = os.environ.get("BENCH_SUBJECT_KIND", "bare")


@dataclass
class Counter:
    """Tasks enqueued and finished, and an optional file of finished task numbers."""

    enqueued: int = 0
    done: int = 0
    done_log: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, number: int) -> None:
        with self.lock:
            self.done += 1
        if self.done_log is not None:
            # One O_APPEND write per task: the line is in the kernel's page cache as soon as
            # write() returns, so a SIGKILL of this process cannot lose it.
            with open(self.done_log, "a") as log:
                log.write(f"{number}\n")


@dataclass
class Subject:
    app: FastAPI
    counter: Counter
    manager: Any = None

    async def wait_done(self, expected: int, timeout: float = 300.0) -> None:
        """Wait (bounded) until ``expected`` tasks have finished."""
        deadline = time.monotonic() + timeout
        while self.counter.done < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.counter.done} of {expected} tasks finished")
            await asyncio.sleep(0.001)

    async def persist(self) -> None:
        """Make finished work durable the way the subject does it."""
        if KIND == "current":
            await self.manager.service.flush()
        elif KIND == "original" and getattr(self.manager, "_scheduler", None) is not None:
            # The releases write finished tasks in periodic snapshots; flush one now.
            await self.manager._scheduler.flush()


def split_prefix(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = next((value for key, value in query if key == "prefix"), None)
    rest = urlencode([(key, value) for key, value in query if key != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def manager_options(storage: str) -> dict[str, Any]:
    """``TaskManager`` keyword arguments naming ``storage`` for this subject."""
    if storage == "memory":
        return {}
    if KIND == "current":
        if storage.startswith("sqlite:"):
            return {"storage_url": f"sqlite:///{storage.removeprefix('sqlite:')}"}
        return {"storage_url": storage}
    from fastapi_taskflow.backends import (  # type: ignore[import-not-found]
        MySQLBackend,
        PostgresBackend,
        RedisBackend,
    )

    if storage.startswith("sqlite:"):
        return {"snapshot_db": storage.removeprefix("sqlite:")}
    if storage.startswith("postgresql"):
        return {"snapshot_backend": PostgresBackend(storage)}
    if storage.startswith("mysql"):
        return {"snapshot_backend": MySQLBackend(storage)}
    url, prefix = split_prefix(storage)
    return {"snapshot_backend": RedisBackend(url, prefix=prefix or "fbtm:snapshots")}


def build(
    storage: str = "memory",
    *,
    per_request: int = 1,
    task_kind: str = "async",
    work_ms: float = 0.0,
    done_log: str | None = None,
    crash_safe: bool = False,
    max_concurrent: int | None = None,
    lease_ttl: float | None = None,
) -> Subject:
    """The benchmark application for this subject.

    Args:
        storage: Where the subject keeps tasks (see the module docstring).
        per_request: Tasks each ``GET /enqueue`` adds.
        task_kind: ``async`` (a coroutine) or ``sync`` (a plain function, run in a thread).
        work_ms: How long each task works (``asyncio.sleep`` or ``time.sleep``).
        done_log: File each finished task appends its number to.
        crash_safe: Ask the subject to bring unfinished tasks back after a restart.
        max_concurrent: Cap on tasks running at once (taskflow subjects only).
        lease_ttl: Seconds before a dead instance's work is taken over (``current`` only;
            the releases have no leases).
    """
    counter = Counter(done_log=done_log)
    delay = work_ms / 1000

    async def job(number: int) -> None:
        if delay:
            await asyncio.sleep(delay)
        counter.finish(number)

    def job_sync(number: int) -> None:
        if delay:
            time.sleep(delay)
        counter.finish(number)

    func = job if task_kind == "async" else job_sync
    app = FastAPI()
    manager = None
    if KIND != "bare":
        from fastapi_taskflow import TaskAdmin, TaskManager

        options = manager_options(storage)
        if crash_safe and KIND == "original":
            options["requeue_pending"] = True
        if max_concurrent is not None:
            options["max_concurrent_tasks"] = max_concurrent
        if lease_ttl is not None and KIND == "current":
            options["lease_ttl"] = lease_ttl
        manager = TaskManager(**options)
        decorator_options: dict[str, Any] = {}
        if crash_safe:
            decorator_options = {"requeue_on_interrupt": True}
            if KIND == "original":
                decorator_options["persist"] = True
        func = manager.task(**decorator_options)(func)
        TaskAdmin(app, manager, auto_install=True)

    @app.get("/enqueue")
    async def enqueue(background_tasks: BackgroundTasks, start: int = 0) -> dict[str, int]:
        for number in range(start, start + per_request):
            background_tasks.add_task(func, number)
        counter.enqueued += per_request
        return {"enqueued": per_request}

    @app.get("/bench/stats")
    async def stats() -> dict[str, int]:
        return {"enqueued": counter.enqueued, "done": counter.done}

    return Subject(app=app, counter=counter, manager=manager)
