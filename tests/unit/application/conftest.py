"""A task service wired by the real composition root, with a fake clock and memory storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from dependency_injector import providers

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.observers import InMemoryLogger
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.container import TaskflowContainer
from fastapi_taskflow.ports.change_broadcast import ChangeBroadcast

DEFAULTS: dict[str, Any] = {
    "storage_url": "memory://",
    "loggers": [],
    "log_file": None,
    "log_file_max_bytes": 1_000_000,
    "log_file_backup_count": 1,
    "log_file_mode": "rotate",
    "log_lifecycle": False,
    "encrypt_args_key": None,
    "max_concurrent_tasks": None,
    "max_sync_threads": None,
    "max_process_workers": 1,
    "process_shutdown_timeout": 5.0,
    "retention_days": None,
    "recent_limit": 1000,
    "storage_options": {},
    "max_crash_reruns": 3,
    "max_storage_backlog": 100_000,
    "lease_ttl": 30.0,
}


class Harness:
    """The service under test and the fakes around it."""

    def __init__(
        self,
        *,
        storage: MemoryTaskStorage | None = None,
        broadcast: ChangeBroadcast | None = None,
        clock: FakeClock | None = None,
        **config: Any,
    ) -> None:
        self.container = TaskflowContainer()
        self.container.config.from_dict({**DEFAULTS, **config})
        self.clock = clock or FakeClock()
        self.observer = InMemoryLogger()
        self.storage = storage or MemoryTaskStorage()
        self.container.clock.override(providers.Object(self.clock))
        self.container.observer.override(providers.Object(self.observer))
        self.container.storage.override(providers.Object(self.storage))
        if broadcast is not None:
            self.container.broadcast.override(providers.Object(broadcast))
        self.service: TaskService = self.container.service()

    def register(self, func: Callable[..., Any], **options: Any) -> Callable[..., Any]:
        options.setdefault("name", func.__name__)
        self.service.registry.register(func, TaskConfig(**options))
        return func

    def start(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """Enqueue and dispatch at once, as ``eager=True`` does."""
        result = self.service.enqueue(func, args, kwargs)
        self.service.dispatch_now(result.task_id)
        return result.task_id

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> TaskRecord:
        """Enqueue, run to the end and return the record (the after-response path)."""
        result = self.service.enqueue(func, args, kwargs)
        await self.service.execute(result.task_id)
        return self.record(result.task_id)

    def record(self, task_id: str) -> TaskRecord:
        record = self.service.recorder.store.get(task_id)
        assert record is not None, f"no task {task_id}"
        return record

    async def idle(self) -> None:
        assert await self.service.dispatcher.wait_idle(5.0), "tasks still running"
        assert await self.service.feed.drain(5.0), "observers still busy"


@pytest.fixture
async def make_harness() -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    made: list[Harness] = []

    async def make(**config: Any) -> Harness:
        harness = Harness(**config)
        await harness.service.startup()
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.service.shutdown()


@pytest.fixture
async def harness(make_harness: Callable[..., Awaitable[Harness]]) -> Harness:
    return await make_harness()


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``condition`` holds (bounded, so a bug fails instead of hanging)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"timed out waiting for {what}")
