"""Running finished tasks again: one (optionally with edits), a list, or a time window.

A retry never touches the failed record's outcome: a new task is created with the same
function and arguments, and the two name each other (``retried_from`` on the new one,
``retried_as`` on the old one). A task is retried at most once; to try again after the retry
failed too, retry the retry. That makes every retry request safe to repeat, from any
instance: a lock shared through the store serialises retries, and the link is checked in
storage under it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.enqueue import Enqueuer, SealedArguments, checked_tags
from fastapi_taskflow.application.json_values import jsonable
from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.registry import RegisteredTask, TaskRegistry
from fastapi_taskflow.domain.errors import (
    AlreadyRetried,
    FunctionNotRegistered,
    InvalidReplay,
    NotRetryable,
    TaskArgumentError,
    TaskNotFound,
)
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import DEAD_LETTER_STATUSES, RETRYABLE_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.locks import LockManager
from fastapi_taskflow.ports.storage import TaskQuery, TaskRepository

#: The lock every instance takes around a batch of retries.
RETRY_LOCK = "taskflow:retry"
#: Seconds the lock is held at most, should its holder die mid-batch.
RETRY_LOCK_TTL = 120.0
#: Seconds between attempts to take the lock while another instance holds it, and how many.
LOCK_POLL = 0.05
LOCK_ATTEMPTS = 200
#: Tasks retried under one hold of the lock (a window is replayed in batches of this size).
BATCH = 500
#: Largest list of ids one bulk request may name.
MAX_BULK = 1000


class RetryOutcome(str, enum.Enum):
    """What happened to one task of a bulk retry. The values are part of the API."""

    DISPATCHED = "dispatched"
    NOT_FOUND = "not_found"
    NOT_RETRYABLE = "not_retryable"
    NOT_REGISTERED = "not_registered"
    ALREADY_RETRIED = "already_retried"


@attrs.frozen(kw_only=True)
class RetryResult:
    task_id: str
    outcome: RetryOutcome
    new_task_id: str | None = None
    detail: str | None = None


@attrs.frozen(kw_only=True)
class BulkRetry:
    """The outcome of a bulk retry: every task considered, in the order considered."""

    results: Sequence[RetryResult]

    @property
    def dispatched(self) -> int:
        return sum(1 for result in self.results if result.outcome is RetryOutcome.DISPATCHED)

    @property
    def skipped(self) -> int:
        return len(self.results) - self.dispatched


@attrs.frozen(kw_only=True)
class ReplayEdits:
    """What an operator changes when replaying a task; ``None`` keeps the original's."""

    kwargs: Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = attrs.field(default=None)

    @tags.validator
    def _check_tags(self, _attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            checked_tags(value)

    @property
    def empty(self) -> bool:
        return self.kwargs is None and self.tags is None


@attrs.frozen(kw_only=True)
class Retried:
    """A retry that went through: the new task, and what the edits changed (for the audit)."""

    original: TaskRecord
    task: TaskRecord
    changes: Mapping[str, Any]


class TaskRetries:
    """The retry use cases. ``start`` begins a new task on the event loop.

    With ``run_here=False`` (a command-line session, which runs no tasks) new tasks are stored
    without an owner and not started: the next recovery sweep of any live instance takes them
    over and runs them, as it does with tasks of an instance that died.
    """

    def __init__(
        self,
        *,
        registry: TaskRegistry,
        enqueuer: Enqueuer,
        recorder: ChangeRecorder,
        storage: TaskRepository,
        locks: LockManager,
        queries: TaskQueries,
        clock: Clock,
        instance_id: str,
        start: Callable[[str], None],
        run_here: bool = True,
    ) -> None:
        self._registry = registry
        self._enqueuer = enqueuer
        self._recorder = recorder
        self._storage = storage
        self._locks = locks
        self._queries = queries
        self._clock = clock
        self._instance_id = instance_id
        self._start = start
        self._run_here = run_here

    async def retry(
        self,
        task_id: str,
        edits: ReplayEdits | None = None,
        *,
        arguments_visible: bool,
        provenance: Provenance | None = None,
    ) -> Retried:
        """Run the finished task ``task_id`` again as a new task, with ``edits`` applied.

        ``arguments_visible`` says whether the operator can see the task's arguments;
        keyword arguments can only be edited when they can. ``provenance`` is the request
        that asked for the retry; the new task records it (not the original's).

        Raises:
            TaskNotFound, NotRetryable, AlreadyRetried, FunctionNotRegistered: the task cannot
                be retried, as the error says.
            InvalidReplay: the edits cannot be applied.
            TaskArgumentError: the edited arguments cannot reach the executor or storage.
        """
        edits = edits or ReplayEdits()
        async with self._lock():
            await self._recorder.writer.flush()
            original = await self._stored(task_id)
            retried = self._retry_one(
                original, edits, arguments_visible=arguments_visible, provenance=provenance
            )
            await self._recorder.writer.flush()
        if self._run_here:
            self._start(retried.task.task_id)
        return retried

    async def retry_many(
        self, task_ids: Sequence[str], *, provenance: Provenance | None = None
    ) -> BulkRetry:
        """Retry each of ``task_ids`` that can be; the others are reported, not raised.

        Every new task records ``provenance``, the request that asked for the retries.
        """
        if len(task_ids) > MAX_BULK:
            raise ValueError(f"at most {MAX_BULK} task ids per request, got {len(task_ids)}")
        results: list[RetryResult] = []
        unique = list(dict.fromkeys(task_ids))
        for start in range(0, len(unique), BATCH):
            batch = unique[start : start + BATCH]
            results.extend(await self._retry_batch(batch, provenance))
        return BulkRetry(results=results)

    async def retry_window(
        self,
        *,
        created_after: datetime | None,
        func_name: str | None = None,
        statuses: Iterable[TaskStatus] = DEAD_LETTER_STATUSES,
        provenance: Provenance | None = None,
    ) -> BulkRetry:
        """Retry every task in ``statuses`` (the dead letters by default) created after
        ``created_after`` (``None``: ever), of ``func_name`` when given. Every new task
        records ``provenance``, the request that asked for the retries.

        Tasks retried before are left out rather than reported, so replaying a window twice
        dispatches each failure once.
        """
        wanted = frozenset(statuses)
        if not wanted or not wanted <= RETRYABLE_STATUSES:
            allowed = ", ".join(sorted(status.value for status in RETRYABLE_STATUSES))
            raise ValueError(f"statuses must be among {allowed}")
        query = TaskQuery(statuses=wanted, func_name=func_name, created_after=created_after)
        results: list[RetryResult] = []
        cursor: str | None = None
        while True:
            page = await self._queries.page(query, limit=BATCH, cursor=cursor)
            fresh = [record.task_id for record in page.items if record.retried_as is None]
            if fresh:
                batch = await self._retry_batch(fresh, provenance)
                results.extend(
                    result
                    for result in batch
                    if result.outcome is not RetryOutcome.ALREADY_RETRIED
                )
            if page.next_cursor is None:
                return BulkRetry(results=results)
            cursor = page.next_cursor

    # -- steps -----------------------------------------------------------------------------

    async def _retry_batch(
        self, task_ids: Sequence[str], provenance: Provenance | None
    ) -> list[RetryResult]:
        results: list[RetryResult] = []
        started: list[str] = []
        try:
            await self._retry_locked(task_ids, results, started, provenance)
        finally:
            # Tasks created before a failure (storage refusing more work) still run.
            for new_id in started if self._run_here else ():
                self._start(new_id)
        return results

    async def _retry_locked(
        self,
        task_ids: Sequence[str],
        results: list[RetryResult],
        started: list[str],
        provenance: Provenance | None,
    ) -> None:
        async with self._lock():
            await self._recorder.writer.flush()
            for task_id in task_ids:
                try:
                    original = await self._stored(task_id)
                    retried = self._retry_one(
                        original, ReplayEdits(), arguments_visible=False, provenance=provenance
                    )
                except TaskNotFound as exc:
                    results.append(_skipped(task_id, RetryOutcome.NOT_FOUND, exc))
                except (NotRetryable, TaskArgumentError) as exc:
                    # Stored arguments the task's executor can no longer take count as a
                    # reason not to retry, reported like the others.
                    results.append(_skipped(task_id, RetryOutcome.NOT_RETRYABLE, exc))
                except FunctionNotRegistered as exc:
                    results.append(_skipped(task_id, RetryOutcome.NOT_REGISTERED, exc))
                except AlreadyRetried as exc:
                    results.append(
                        _skipped(task_id, RetryOutcome.ALREADY_RETRIED, exc, exc.retried_as)
                    )
                else:
                    new_id = retried.task.task_id
                    started.append(new_id)
                    results.append(
                        RetryResult(
                            task_id=task_id, outcome=RetryOutcome.DISPATCHED, new_task_id=new_id
                        )
                    )
            await self._recorder.writer.flush()

    async def _stored(self, task_id: str) -> TaskRecord:
        """The task as this process runs it, or as storage has it once finished: another
        instance (or the command line) may have retried it since this process last saw it.
        Callers flush the write buffer first, so storage holds this process's changes."""
        held = self._recorder.store.get(task_id)
        if held is not None and held.status.is_live:
            return held
        stored = await self._storage.get(task_id)
        if stored is not None:
            return stored
        if held is None:
            raise TaskNotFound(task_id)
        return held

    def _retry_one(
        self,
        original: TaskRecord,
        edits: ReplayEdits,
        *,
        arguments_visible: bool,
        provenance: Provenance | None,
    ) -> Retried:
        if original.status not in RETRYABLE_STATUSES:
            raise NotRetryable(original.task_id, original.status)
        if original.retried_as is not None:
            raise AlreadyRetried(original.task_id, original.retried_as)
        entry = self._registry.resolve(original.func_name)
        if entry is None:
            raise FunctionNotRegistered(original.func_name)
        sealed, changes = self._arguments(entry, original, edits, arguments_visible)
        tags = dict(original.tags) if edits.tags is None else checked_tags(edits.tags)
        if edits.tags is not None:
            tag_changes = _diff(original.tags, tags)
            if tag_changes:
                changes["tags"] = tag_changes
        self._recorder.writer.admit()
        task = self._enqueuer.new_record(
            entry,
            sealed,
            tags=tags,
            priority=original.priority,
            source="manual",
            provenance=provenance,
            timeout=original.timeout,
        )
        task.queue = original.queue
        task.retried_from = original.task_id
        if not self._run_here:
            task.instance_id = None
        self._recorder.created(task)
        original.retried_as = task.task_id
        self._recorder.annotated(original)
        return Retried(original=original, task=task, changes=changes)

    def _arguments(
        self,
        entry: RegisteredTask,
        original: TaskRecord,
        edits: ReplayEdits,
        arguments_visible: bool,
    ) -> tuple[SealedArguments, dict[str, Any]]:
        if edits.kwargs is None:
            if original.encrypted_payload is not None:
                # Still sealed with a key this process holds (or held): passed on untouched.
                return SealedArguments(payload=original.encrypted_payload), {}
            return self._enqueuer.seal(entry, original.args, dict(original.kwargs)), {}
        if original.encrypted_payload is not None:
            raise InvalidReplay(
                f"task {original.task_id} has encrypted arguments; they cannot be edited"
            )
        if not arguments_visible:
            raise InvalidReplay(
                "keyword arguments can only be edited where they are shown "
                "(TaskAdmin(display_func_args=True))"
            )
        if not isinstance(edits.kwargs, Mapping) or not all(
            isinstance(key, str) for key in edits.kwargs
        ):
            raise InvalidReplay("kwargs must be an object with string keys")
        kwargs = dict(edits.kwargs)
        sealed = self._enqueuer.seal(entry, original.args, kwargs)
        changes: dict[str, Any] = {}
        kwarg_changes = _diff(original.kwargs, kwargs)
        if kwarg_changes:
            changes["kwargs"] = kwarg_changes
        return sealed, changes

    def _lock(self) -> _HeldLock:
        return _HeldLock(self._locks, self._clock, self._instance_id)


class _HeldLock:
    """The retry lock, waited for while another instance holds it."""

    def __init__(self, locks: LockManager, clock: Clock, owner: str) -> None:
        self._locks = locks
        self._clock = clock
        self._owner = owner

    async def __aenter__(self) -> None:
        for _ in range(LOCK_ATTEMPTS):
            if await self._locks.acquire(RETRY_LOCK, self._owner, ttl=RETRY_LOCK_TTL):
                return
            await self._clock.sleep(LOCK_POLL)
        raise TimeoutError(
            "another instance has been retrying tasks for too long; try again shortly"
        )

    async def __aexit__(self, *_exc: object) -> None:
        await self._locks.release(RETRY_LOCK, self._owner)


def _skipped(
    task_id: str, outcome: RetryOutcome, error: Exception, new_task_id: str | None = None
) -> RetryResult:
    return RetryResult(
        task_id=task_id, outcome=outcome, new_task_id=new_task_id, detail=str(error)
    )


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Keys added, removed and changed (as ``[before, after]``), in JSON-compatible form."""
    diff: dict[str, Any] = {}
    added = {key: jsonable(after[key]) for key in after if key not in before}
    removed = sorted(key for key in before if key not in after)
    changed = {
        key: [jsonable(before[key]), jsonable(after[key])]
        for key in after
        if key in before and before[key] != after[key]
    }
    if added:
        diff["added"] = added
    if removed:
        diff["removed"] = removed
    if changed:
        diff["changed"] = changed
    return diff
