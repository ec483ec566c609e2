"""Where task records live: the storage port.

It is split by capability so each use case depends on what it needs; a storage adapter
implements all of them (see :class:`TaskStorage`). The shape is made for write-behind batching
(``save`` takes many records), bounded memory (history is read with filters and cursors, metrics
are aggregated by the store) and several instances sharing one store (atomic claims,
idempotency reservations and instance heartbeats).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditTrail
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.locks import LockManager
from fastapi_taskflow.ports.queue_settings import QueueSettings
from fastapi_taskflow.ports.schedules import OneOffRuns, ScheduleSlots


@attrs.frozen(kw_only=True)
class TaskQuery:
    """Which tasks to list. Every field narrows the result; ``None`` means no condition."""

    statuses: frozenset[TaskStatus] | None = None
    func_name: str | None = None
    #: Only tasks carrying this tag key with this value.
    tag: tuple[str, str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    source: str | None = None
    queue: str | None = None
    #: Only tasks enqueued by a request matched by this route template (``/orders/{id}``).
    route: str | None = None
    #: Only tasks enqueued by a request with this HTTP method (``POST``).
    method: str | None = None
    #: Only tasks enqueued by the request with this id.
    request_id: str | None = None
    #: Only tasks enqueued by a request of this authenticated user.
    principal: str | None = None

    def matches(self, record: TaskRecord) -> bool:
        """Whether ``record`` satisfies every condition (used by in-memory stores)."""
        if self.statuses is not None and record.status not in self.statuses:
            return False
        if self.func_name is not None and record.func_name != self.func_name:
            return False
        if self.tag is not None and record.tags.get(self.tag[0]) != self.tag[1]:
            return False
        if self.created_after is not None and record.created_at < self.created_after:
            return False
        if self.created_before is not None and record.created_at >= self.created_before:
            return False
        if self.queue is not None and record.queue != self.queue:
            return False
        if self.source is not None and record.source != self.source:
            return False
        return self._matches_provenance(record)

    def _matches_provenance(self, record: TaskRecord) -> bool:
        wanted = (self.route, self.method, self.request_id, self.principal)
        if all(value is None for value in wanted):
            return True
        origin = record.provenance
        if origin is None:
            return False
        found = (origin.route, origin.method, origin.request_id, origin.principal)
        return all(want is None or want == got for want, got in zip(wanted, found, strict=True))


@attrs.frozen(kw_only=True)
class TaskPage:
    """One page of tasks, newest first, and the cursor of the next page (``None`` at the end)."""

    items: Sequence[TaskRecord]
    next_cursor: str | None = None


class TaskRepository(Protocol):
    """Task records: write in batches, read one, many, or their aggregates."""

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Insert or replace each record (by ``task_id``) in one transaction."""
        ...

    async def get(self, task_id: str) -> TaskRecord | None:
        """The stored record, or ``None``."""
        ...

    async def query(
        self, query: TaskQuery, *, limit: int, cursor: Cursor | None = None
    ) -> TaskPage:
        """Matching tasks, newest first, at most ``limit`` of them, after ``cursor``."""
        ...

    async def metrics(self, query: TaskQuery) -> TaskMetrics:
        """Counts per status and duration statistics of the matching tasks."""
        ...

    async def unfinished(self, *, limit: int) -> Sequence[TaskRecord]:
        """Pending and running tasks, oldest first (candidates for recovery)."""
        ...

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Delete terminal tasks that ended before ``cutoff``; returns how many."""
        ...


class WorkClaims(Protocol):
    """Atomic ownership of unfinished tasks, so exactly one instance recovers each."""

    async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
        """Set the task's owner to ``owner`` if it is still ``expected_owner``.

        True for exactly one of several instances racing on the same task.
        """
        ...

    async def claim_orphans(
        self, owner: str, live: frozenset[str], *, limit: int
    ) -> Sequence[TaskRecord]:
        """Take over unfinished tasks whose owner is neither ``owner`` nor in ``live``.

        At most ``limit`` pending or running tasks with no owner or a dead one become
        ``owner``'s, oldest first, and are returned as stored afterwards (owned by ``owner``).
        Atomic per task: of several instances sweeping at once, each orphan goes to exactly
        one. Tasks already owned by ``owner`` are not returned.
        """
        ...


class IdempotencyKeys(Protocol):
    """Keys that make one logical operation run once, however often it is submitted."""

    async def reserve_idempotency_key(self, key: str, task_id: str) -> str:
        """Bind ``key`` to ``task_id`` unless a task that did not fail already holds it.

        Returns the id of the task that holds the key afterwards: ``task_id`` when this call
        reserved it, the earlier task's id otherwise. Atomic across clients of one store.
        """
        ...


class InstanceLeases(Protocol):
    """Which processes are alive, so work of dead ones can be recovered."""

    async def heartbeat(self, instance_id: str, now: datetime, ttl: float) -> None:
        """Record that ``instance_id`` is alive until ``now + ttl``."""
        ...

    async def live_instances(self, now: datetime) -> frozenset[str]:
        """Instances whose lease has not expired at ``now``."""
        ...

    async def release_instance(self, instance_id: str) -> None:
        """Forget an instance on clean shutdown."""
        ...


class TaskStorage(
    TaskRepository,
    WorkClaims,
    IdempotencyKeys,
    InstanceLeases,
    LockManager,
    ScheduleSlots,
    AuditTrail,
    OneOffRuns,
    QueueSettings,
    Protocol,
):
    """Everything a storage adapter provides, plus opening and closing connections.

    Its locks (:class:`~fastapi_taskflow.ports.locks.LockManager`) are shared by every client
    of the store, so leader duties run on one instance at a time.
    """

    #: False for stores that lose everything with the process (``memory://``).
    durable: bool

    async def open(self) -> None:
        """Connect and create the schema if needed. Called in the application's event loop."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
