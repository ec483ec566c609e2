"""What an operator does from the admin API, the dashboard or the command line, each action
recorded in the audit log with the acting user."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from fastapi_taskflow.application.audit_log import AuditLog
from fastapi_taskflow.application.cancel import cancel_task
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.dispatcher import Dispatcher
from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.task_retries import (
    BulkRetry,
    ReplayEdits,
    Retried,
    RetryOutcome,
    TaskRetries,
)
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound, TaskOwnedElsewhere
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import DEAD_LETTER_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import TaskRepository

#: Outcomes of a bulk retry kept in its audit entry; the counts are always complete.
AUDITED_RESULTS = 100


@attrs.frozen(kw_only=True)
class HistoryDeleted:
    cutoff: datetime
    deleted: int


class OperatorActions:
    """Audited commands over tasks."""

    def __init__(
        self,
        *,
        retries: TaskRetries,
        audit: AuditLog,
        queries: TaskQueries,
        storage: TaskRepository,
        store: TaskStore,
        writer: WriteBehind,
        clock: Clock,
        recorder: ChangeRecorder,
        dispatcher: Dispatcher,
    ) -> None:
        self.audit = audit
        self._retries = retries
        self._queries = queries
        self._storage = storage
        self._store = store
        self._writer = writer
        self._clock = clock
        self._recorder = recorder
        self._dispatcher = dispatcher

    async def retry(
        self,
        task_id: str,
        edits: ReplayEdits | None = None,
        *,
        actor: str | None,
        arguments_visible: bool,
        provenance: Provenance | None = None,
    ) -> Retried:
        """Retry one task (see :meth:`TaskRetries.retry`); audited as ``retry``, or as
        ``replay`` with the diff when edits changed something. The new task records
        ``provenance``, the request that asked for the retry."""
        retried = await self._retries.retry(
            task_id, edits, arguments_visible=arguments_visible, provenance=provenance
        )
        detail: dict[str, object] = {"retried_as": retried.task.task_id}
        if retried.changes:
            detail["changes"] = dict(retried.changes)
        action = AuditAction.REPLAY if edits is not None and not edits.empty else AuditAction.RETRY
        await self.audit.record(actor, action, [task_id], detail)
        return retried

    async def retry_many(
        self,
        task_ids: Sequence[str],
        *,
        actor: str | None,
        provenance: Provenance | None = None,
    ) -> BulkRetry:
        """Retry the listed tasks; audited as one ``bulk_retry`` entry. The new tasks record
        ``provenance``, the request that asked for the retries."""
        outcome = await self._retries.retry_many(task_ids, provenance=provenance)
        await self._audit_bulk(outcome, actor, {"task_ids": len(task_ids)})
        return outcome

    async def retry_window(
        self,
        *,
        since: timedelta | None,
        func_name: str | None = None,
        statuses: Iterable[TaskStatus] = DEAD_LETTER_STATUSES,
        actor: str | None,
        provenance: Provenance | None = None,
    ) -> BulkRetry:
        """Retry the dead letters created within ``since`` (``None``: ever); audited as one
        ``bulk_retry`` entry naming the window. The new tasks record ``provenance``."""
        wanted = sorted(frozenset(statuses), key=lambda status: status.value)
        created_after = None if since is None else self._clock.now() - since
        outcome = await self._retries.retry_window(
            created_after=created_after,
            func_name=func_name,
            statuses=wanted,
            provenance=provenance,
        )
        window = {
            "since_seconds": None if since is None else since.total_seconds(),
            "func_name": func_name,
            "statuses": [status.value for status in wanted],
        }
        await self._audit_bulk(outcome, actor, window)
        return outcome

    async def cancel(self, task_id: str, *, actor: str | None) -> TaskRecord:
        """Cancel a pending or running task of this instance; audited as ``cancel``.

        Raises:
            TaskNotFound: there is no such task.
            InvalidTransition: it already finished.
            TaskOwnedElsewhere: another instance runs it.
        """
        try:
            record = await cancel_task(
                task_id, recorder=self._recorder, dispatcher=self._dispatcher, clock=self._clock
            )
        except TaskNotFound:
            stored = await self._queries.get(task_id)
            if stored is None:
                raise
            if stored.status.is_terminal:
                raise InvalidTransition(task_id, stored.status, TaskStatus.CANCELLED) from None
            raise TaskOwnedElsewhere(task_id) from None
        await self.audit.record(actor, AuditAction.CANCEL, [task_id])
        return record

    async def delete_history(self, older_than: timedelta, *, actor: str | None) -> HistoryDeleted:
        """Delete finished tasks that ended more than ``older_than`` ago, in storage and in
        this process's memory; pending and running tasks are never touched. Audited as
        ``delete_history``."""
        if older_than < timedelta(0):
            raise ValueError("older_than must not be negative")
        cutoff = self._clock.now() - older_than
        await self._writer.flush()
        deleted = await self._storage.delete_finished_before(cutoff)
        self._store.drop_finished_before(cutoff)
        await self.audit.record(
            actor,
            AuditAction.DELETE_HISTORY,
            detail={"cutoff": cutoff.isoformat(), "deleted": deleted},
        )
        return HistoryDeleted(cutoff=cutoff, deleted=deleted)

    async def _audit_bulk(
        self, outcome: BulkRetry, actor: str | None, request: Mapping[str, object]
    ) -> None:
        dispatched = [r for r in outcome.results if r.outcome is RetryOutcome.DISPATCHED]
        skipped: dict[str, int] = {}
        for result in outcome.results:
            if result.outcome is not RetryOutcome.DISPATCHED:
                skipped[result.outcome.value] = skipped.get(result.outcome.value, 0) + 1
        kept = dispatched[:AUDITED_RESULTS]
        detail = {
            "request": dict(request),
            "dispatched": outcome.dispatched,
            "skipped": outcome.skipped,
            "skipped_by_reason": skipped,
            "retried_as": {result.task_id: result.new_task_id for result in kept},
        }
        await self.audit.record(
            actor, AuditAction.BULK_RETRY, [result.task_id for result in kept], detail
        )
