"""Picking up the work of processes that stopped: pending tasks run, running ones are settled."""

from __future__ import annotations

import logging

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.domain.errors import FunctionNotRegistered
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import TaskStorage

_log = logging.getLogger("fastapi_taskflow.recovery")

#: Unfinished tasks examined per recovery pass.
RECOVERY_BATCH = 1000


async def recover_unfinished(
    *,
    storage: TaskStorage,
    registry: TaskRegistry,
    recorder: ChangeRecorder,
    clock: Clock,
    instance_id: str,
) -> list[TaskRecord]:
    """Claim unfinished tasks whose owner is gone and return those to run here.

    A task that was running when its process died is marked ``interrupted`` — or made pending
    again when its function has ``requeue_on_interrupt=True``. A task whose function this
    process does not know is marked ``failed`` with the reason, never silently dropped.
    """
    now = clock.now()
    alive = await storage.live_instances(now)
    to_run: list[TaskRecord] = []
    for stored in await storage.unfinished(limit=RECOVERY_BATCH):
        owner = stored.instance_id
        if owner == instance_id or (owner is not None and owner in alive):
            continue
        if not await storage.claim(stored.task_id, instance_id, owner):
            continue  # another instance claimed it first
        record = stored
        record.instance_id = instance_id
        entry = registry.resolve(record.func_name)
        if record.status is TaskStatus.RUNNING:
            record.interrupt(now)
            if entry is not None and entry.config.requeue_on_interrupt:
                record.requeue(now)
                record.instance_id = instance_id
        if record.status is TaskStatus.PENDING and entry is None:
            record.fail(now, str(FunctionNotRegistered(record.func_name)))
        if record.status.is_live:
            recorder.created(record)
        else:
            recorder.changed(record)
        if record.status is TaskStatus.PENDING:
            to_run.append(record)
    if to_run:
        _log.info("recovered %d unfinished tasks", len(to_run))
    return to_run
