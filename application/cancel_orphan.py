"""Cancelling an orphan: an unfinished task that no live instance holds.

An instance cancels its own tasks in memory (see :mod:`~fastapi_taskflow.application.cancel`).
A process that holds no tasks, such as the command line, can still cancel a task nobody is
running: a pending task without an owner (handed off by a retry from the command line, or
requeued), a pending task whose owner's lease expired, or a running task whose owner died.
It takes the task over with an atomic claim, the same one recovery sweeps use, so a live
instance cannot pick the task up and start it meanwhile; then it marks the task cancelled
and stores it. A task held by a live instance is refused: only that instance can stop it.
"""

from __future__ import annotations

from typing import Protocol

from fastapi_taskflow.application.audit_log import AuditLog
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound, TaskOwnedElsewhere
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import InstanceLeases, TaskRepository, WorkClaims

#: Seconds the cancelling process counts as a live instance while it works. Should it die
#: between its claim and its write, the task is recovered by a sweep once this has passed.
CANCEL_LEASE = 30.0

#: Times the claim is tried again when the task changed hands between reading and claiming.
CLAIM_ATTEMPTS = 3


class OrphanStore(TaskRepository, WorkClaims, InstanceLeases, Protocol):
    """What cancelling an orphan needs of the store."""


async def cancel_orphan(
    task_id: str,
    *,
    storage: OrphanStore,
    audit: AuditLog,
    clock: Clock,
    owner: str,
    actor: str | None,
    lease_ttl: float = CANCEL_LEASE,
) -> TaskRecord:
    """Cancel ``task_id`` through the store, as ``owner`` (an instance id of the caller's own,
    held by no other process); audited as ``cancel`` by ``actor``. Returns the task as stored.

    ``owner`` holds a lease of ``lease_ttl`` seconds while it works, so sweeps of live
    instances leave the claimed task alone until it is written back cancelled.

    Raises:
        TaskNotFound: there is no such task.
        InvalidTransition: it already finished.
        TaskOwnedElsewhere: a live instance holds it (``owner`` names that instance), or it
            kept changing hands while this tried to claim it.
    """
    await storage.heartbeat(owner, clock.now(), lease_ttl)
    try:
        holder: str | None = None
        for _ in range(CLAIM_ATTEMPTS):
            record = await storage.get(task_id)
            if record is None:
                raise TaskNotFound(task_id)
            if record.status.is_terminal:
                raise InvalidTransition(task_id, record.status, TaskStatus.CANCELLED)
            holder = record.instance_id
            if holder is not None and holder in await storage.live_instances(clock.now()):
                raise TaskOwnedElsewhere(task_id, holder)
            if not await storage.claim(task_id, owner, holder):
                continue  # a sweep (or another canceller) took it first: look again
            claimed = await storage.get(task_id)
            if claimed is None:
                raise TaskNotFound(task_id)
            if claimed.instance_id != owner or claimed.status.is_terminal:
                continue  # its old owner wrote it back meanwhile: look again
            claimed.cancel(clock.now())
            await storage.save([claimed])
            await audit.record(
                actor, AuditAction.CANCEL, [task_id], {"orphan": True, "previous_owner": holder}
            )
            return claimed
        raise TaskOwnedElsewhere(task_id, holder)
    finally:
        await storage.release_instance(owner)
