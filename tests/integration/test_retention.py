"""Retention with several instances on one real store: each prunes on its schedule, exactly
one deletes, and the deletion is in the audit log."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.adapters.clock import SystemClock
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.storage_selection import build_storage
from fastapi_taskflow.ports.storage import TaskQuery

from .conftest import serve, wait_until

pytestmark = pytest.mark.integration

OLD_TASKS = 1200


def finished(task_id: str, ended: datetime) -> TaskRecord:
    record = TaskRecord(task_id=task_id, func_name="report", created_at=ended)
    record.start(ended)
    record.succeed(ended)
    return record


async def seed(url: str, now: datetime) -> None:
    """History left by an earlier deployment: many tasks that ended 40 days ago, a few that
    ended yesterday."""
    storage = build_storage(url, TaggedJsonSerializer(), SystemClock())
    await storage.open()
    try:
        old = [finished(f"old-{n:05d}", now - timedelta(days=40)) for n in range(OLD_TASKS)]
        recent = [finished(f"recent-{n}", now - timedelta(days=1)) for n in range(3)]
        for start in range(0, len(old), 400):
            await storage.save(old[start : start + 400])
        await storage.save(recent)
    finally:
        await storage.close()


def instance(url: str) -> tuple[TaskManager, FastAPI]:
    # A short lease makes the maintenance tick (a third of it), and so the first retention
    # run, come a fraction of a second after start-up.
    manager = TaskManager(
        storage_url=url, retention_days=30, lease_ttl=0.3, retention_interval=0.2
    )
    app = FastAPI()
    TaskAdmin(app, manager)
    return manager, app


async def test_two_instances_prune_on_schedule_and_exactly_one_deletes(
    shared_store: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastapi_taskflow")
    await seed(shared_store, datetime.now(timezone.utc))
    (first, first_app), (second, second_app) = instance(shared_store), instance(shared_store)
    ids = {first.service.instance_id, second.service.instance_id}

    def retention_runs() -> list[str]:
        """The instance of each retention run so far, in order."""
        runs = []
        for record in caplog.records:
            message = record.getMessage()
            if message.startswith(("retention run by ", "retention skipped by ")):
                runs.append(message.split()[3].rstrip(":"))
        return runs

    def pruned_by() -> set[str]:
        return set(retention_runs())

    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(serve(first_app))
        await stack.enter_async_context(serve(second_app))

        async def only_recent_left() -> bool:
            page = await first.service.storage.query(TaskQuery(), limit=100)
            return {record.task_id for record in page.items} == {f"recent-{n}" for n in range(3)}

        await wait_until(only_recent_left, "the old history to be deleted")
        await wait_until(lambda: pruned_by() == ids, "both instances to run retention")
        audit: list[dict[str, Any]] = []

        async def audited() -> bool:
            response = await client.get("/tasks/audit", params={"action": "retention"})
            audit[:] = response.json()
            return bool(audit)

        await wait_until(audited, "the deletion to be audited")
        # Both instances keep running retention; none finds anything more to delete.
        runs = len(retention_runs())
        await wait_until(lambda: len(retention_runs()) > runs + 4, "more retention runs")
        audit = (await client.get("/tasks/audit", params={"action": "retention"})).json()

    (entry,) = audit
    assert entry["actor"] is None
    assert entry["detail"]["deleted"] == OLD_TASKS
    assert entry["detail"]["retention_days"] == 30
    cutoff = datetime.fromisoformat(entry["detail"]["cutoff"])
    assert timedelta(days=29) < datetime.now(timezone.utc) - cutoff < timedelta(days=31)
