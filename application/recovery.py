"""Picking up the work of processes that stopped: pending tasks run, running ones are settled."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.domain.errors import FunctionNotRegistered
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import TaskStorage

_log = logging.getLogger("fastapi_taskflow.recovery")

#: Orphaned tasks taken over per claim (one storage round trip).
RECOVERY_BATCH = 500

#: Live tasks this process may hold before it stops taking over more; the rest stay orphaned
#: for a later sweep (or another instance), so memory stays bounded after a large crash.
MAX_RECOVERED_LIVE = 10_000

#: Default number of times a task is started again after the process running it died.
DEFAULT_MAX_CRASH_RERUNS = 3


async def recover_unfinished(
    *,
    storage: TaskStorage,
    registry: TaskRegistry,
    recorder: ChangeRecorder,
    clock: Clock,
    instance_id: str,
    max_crash_reruns: int = DEFAULT_MAX_CRASH_RERUNS,
    max_live: int = MAX_RECOVERED_LIVE,
) -> list[TaskRecord]:
    """Take over unfinished tasks whose owner is gone and return those to run here.

    Each orphan is claimed atomically in storage, so with several instances sweeping at once
    every task is recovered by exactly one of them. A task that was running when its process
    died is marked ``interrupted``, or made pending again when its function has
    ``requeue_on_interrupt=True`` and it has not yet been re-run ``max_crash_reruns`` times
    (a task that kills its process must not loop forever). A task whose function this process
    does not know is marked ``failed`` with the reason, never silently dropped.
    """
    to_run: list[TaskRecord] = []
    while recorder.store.live_count < max_live:
        now = clock.now()
        alive = await storage.live_instances(now)
        batch = await storage.claim_orphans(
            instance_id,
            alive,
            limit=min(RECOVERY_BATCH, max_live - recorder.store.live_count),
        )
        for record in batch:
            _settle(record, registry, now, instance_id, max_crash_reruns)
            if record.status.is_live:
                recorder.created(record)
            else:
                recorder.changed(record)
            if record.status is TaskStatus.PENDING:
                to_run.append(record)
        if len(batch) < RECOVERY_BATCH:
            break
    if to_run:
        _log.info("recovered %d unfinished tasks of stopped instances", len(to_run))
    return to_run


def _settle(
    record: TaskRecord,
    registry: TaskRegistry,
    now: datetime,
    instance_id: str,
    max_crash_reruns: int,
) -> None:
    entry = registry.resolve(record.func_name)
    if record.status is TaskStatus.RUNNING:
        record.interrupt(now)
        record.error = "interrupted: the process running it stopped"
        if entry is not None and entry.config.requeue_on_interrupt:
            if record.crash_reruns < max_crash_reruns:
                record.requeue(now)
                record.crash_reruns += 1
                record.error = None
            else:
                record.error = (
                    f"interrupted: the process running it stopped {record.crash_reruns + 1} "
                    f"times; not re-run again (max_crash_reruns={max_crash_reruns})"
                )
                _log.warning("task %s: %s", record.task_id, record.error)
    record.instance_id = instance_id
    if record.status is TaskStatus.PENDING and entry is None:
        record.fail(now, str(FunctionNotRegistered(record.func_name)))
