"""Task storage held in this process's memory: the no-persistence mode and the unit tests."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from fastapi_taskflow.adapters.clock.system_clock import SystemClock
from fastapi_taskflow.adapters.locks.memory_locks import MemoryLockManager
from fastapi_taskflow.adapters.storage.storage_rules import (
    UNFINISHED_STATUSES,
    at_rest,
    check_limit,
    latest_per_task,
)
from fastapi_taskflow.domain.activity import (
    DURATION_EDGES,
    Activity,
    ActivityWindow,
    DurationHistogram,
    duration_bin,
)
from fastapi_taskflow.domain.audit import AuditEntry
from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.domain.metrics import DurationStats, FunctionMetrics, TaskMetrics
from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.domain.schedule import SlotClaim
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import KEY_RELEASING_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditPage, AuditQuery
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskPage, TaskQuery


class MemoryTaskStorage:
    """A complete :class:`~fastapi_taskflow.ports.storage.TaskStorage` that lives in one process.

    Records are copied on the way in and on the way out, so callers can keep mutating their own
    objects. Memory stays bounded: beyond ``max_finished`` finished tasks, those that ended
    first are forgotten. Every method runs without awaiting, so concurrent coroutines on one
    event loop always see each operation whole.

    Args:
        max_finished: How many finished (terminal) tasks to keep.
        clock: What lock expiry is measured with (the system clock by default).
        max_audit: How many audit entries to keep; older ones are forgotten.
    """

    durable = False

    def __init__(
        self, *, max_finished: int = 10_000, clock: Clock | None = None, max_audit: int = 10_000
    ) -> None:
        if max_finished < 0:
            raise ValueError(f"max_finished must be >= 0, got {max_finished!r}")
        if max_audit < 0:
            raise ValueError(f"max_audit must be >= 0, got {max_audit!r}")
        self._max_finished = max_finished
        self._records: dict[str, TaskRecord] = {}
        # Finished tasks, oldest end first. Entries go stale when a task is saved again; an
        # entry is live only while its sequence number is the one in _finished.
        self._finished_heap: list[tuple[datetime, int, str]] = []
        self._finished: dict[str, int] = {}
        self._sequence = 0
        self._key_holders: dict[str, str] = {}
        self._queue_configs: dict[str, QueueConfig] = {}
        self._keys_of_task: dict[str, set[str]] = {}
        self._leases: dict[str, datetime] = {}
        self._locks = MemoryLockManager(clock or SystemClock())
        self._slots: dict[str, SlotClaim] = {}
        self._one_offs: dict[str, ScheduledOnce] = {}
        self._audit: deque[AuditEntry] = deque(maxlen=max_audit)

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release; the data stays until the object is dropped."""

    # -- records -------------------------------------------------------------------------

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Insert or replace each record (by ``task_id``)."""
        for record in latest_per_task(records):
            stored = at_rest(record)
            self._records[stored.task_id] = stored
            self._track_finished(stored)
        self._evict_finished()

    async def get(self, task_id: str) -> TaskRecord | None:
        """A copy of the stored record, or ``None``."""
        stored = self._records.get(task_id)
        return None if stored is None else stored.copy()

    async def query(
        self, query: TaskQuery, *, limit: int, cursor: Cursor | None = None
    ) -> TaskPage:
        """Matching tasks, newest first, at most ``limit`` of them, after ``cursor``."""
        check_limit(limit)
        matching = [
            record
            for record in self._records.values()
            if query.matches(record) and (cursor is None or cursor.precedes(record))
        ]
        matching.sort(key=lambda record: (record.created_at, record.task_id), reverse=True)
        page = matching[:limit]
        next_cursor = Cursor.after(page[-1]).encode() if len(matching) > limit else None
        return TaskPage(items=[record.copy() for record in page], next_cursor=next_cursor)

    async def metrics(self, query: TaskQuery) -> TaskMetrics:
        """Counts per status and duration statistics of the matching tasks."""
        counts: dict[TaskStatus, int] = {}
        durations: list[float] = []
        per_function: dict[str, tuple[dict[TaskStatus, int], list[float]]] = {}
        for record in self._records.values():
            if not query.matches(record):
                continue
            function_counts, function_durations = per_function.setdefault(
                record.func_name, ({}, [])
            )
            counts[record.status] = counts.get(record.status, 0) + 1
            function_counts[record.status] = function_counts.get(record.status, 0) + 1
            duration = record.duration
            if duration is not None:
                durations.append(duration)
                function_durations.append(duration)
        functions = tuple(
            FunctionMetrics(
                func_name=name,
                counts=function_counts,
                durations=DurationStats.of(function_durations),
            )
            for name, (function_counts, function_durations) in sorted(per_function.items())
        )
        return TaskMetrics(
            counts=counts, durations=DurationStats.of(durations), functions=functions
        )

    async def unfinished(self, *, limit: int) -> Sequence[TaskRecord]:
        """Pending and running tasks, oldest first."""
        check_limit(limit)
        live = [r for r in self._records.values() if r.status in UNFINISHED_STATUSES]
        live.sort(key=lambda record: (record.created_at, record.task_id))
        return [record.copy() for record in live[:limit]]

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Delete terminal tasks that ended before ``cutoff``; returns how many."""
        doomed = [
            task_id
            for task_id, record in self._records.items()
            if record.status.is_terminal
            and record.end_time is not None
            and record.end_time < cutoff
        ]
        for task_id in doomed:
            self._forget(task_id)
        self._evict_finished()
        return len(doomed)

    # -- claims and idempotency ----------------------------------------------------------

    async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
        """Set the task's owner to ``owner`` if it is still ``expected_owner``."""
        stored = self._records.get(task_id)
        if stored is None or stored.instance_id != expected_owner:
            return False
        stored.instance_id = owner
        return True

    async def claim_orphans(
        self, owner: str, live: frozenset[str], *, limit: int
    ) -> Sequence[TaskRecord]:
        """Take over unfinished tasks with no owner or a dead one, oldest first."""
        check_limit(limit)
        orphans = [
            record
            for record in self._records.values()
            if record.status in UNFINISHED_STATUSES
            and record.instance_id != owner
            and record.instance_id not in live
        ]
        orphans.sort(key=lambda record: (record.created_at, record.task_id))
        claimed = []
        for record in orphans[:limit]:
            record.instance_id = owner
            claimed.append(record.copy())
        return claimed

    async def reserve_idempotency_key(self, key: str, task_id: str) -> str:
        """Bind ``key`` to ``task_id`` unless a task that did not fail already holds it."""
        holder = self._key_holders.get(key)
        if holder is not None and holder != task_id:
            holding = self._records.get(holder)
            # A holder whose record is not saved yet is still being enqueued: it keeps the key.
            if holding is None or holding.status not in KEY_RELEASING_STATUSES:
                return holder
            self._keys_of_task[holder].discard(key)
        self._key_holders[key] = task_id
        self._keys_of_task.setdefault(task_id, set()).add(key)
        return task_id

    # -- instance leases -----------------------------------------------------------------

    async def save_queue_config(self, name: str, config: QueueConfig) -> None:
        """Store ``config`` as the limits of queue ``name``, replacing earlier ones."""
        self._queue_configs[name] = config

    async def queue_configs(self) -> Mapping[str, QueueConfig]:
        """Every stored queue's limits, by name."""
        return dict(self._queue_configs)

    async def heartbeat(self, instance_id: str, now: datetime, ttl: float) -> None:
        """Record that ``instance_id`` is alive until ``now + ttl``."""
        self._leases = {name: until for name, until in self._leases.items() if until > now}
        self._leases[instance_id] = now + timedelta(seconds=ttl)

    async def live_instances(self, now: datetime) -> frozenset[str]:
        """Instances whose lease has not expired at ``now``."""
        return frozenset(name for name, until in self._leases.items() if until > now)

    async def release_instance(self, instance_id: str) -> None:
        """Forget an instance on clean shutdown."""
        self._leases.pop(instance_id, None)

    # -- locks -------------------------------------------------------------------------

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds (or extend it, when ``owner`` holds it)."""
        return await self._locks.acquire(key, owner, ttl)

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` up; False when ``owner`` did not hold it."""
        return await self._locks.release(key, owner)

    # -- schedules -----------------------------------------------------------------------

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        """Claim ``slot`` of ``entry`` unless it or a later slot was claimed; store ``record``."""
        held = self._slots.get(entry)
        if held is not None and held.slot >= slot:
            return record.task_id in self._records  # a repeated claim that had won
        self._slots[entry] = SlotClaim(entry=entry, slot=as_utc(slot), task_id=record.task_id)
        await self.save([record])
        return True

    async def last_slots(self, entries: Collection[str]) -> Mapping[str, SlotClaim]:
        """The latest claim of each of ``entries`` that has one."""
        return {entry: self._slots[entry] for entry in entries if entry in self._slots}

    async def save_one_off(self, run: ScheduledOnce) -> None:
        """Store ``run``, replacing the run with the same key."""
        self._one_offs[run.run_key] = _one_off_copy(run)

    async def one_offs_due(self, before: datetime, *, limit: int) -> Sequence[ScheduledOnce]:
        """Stored runs due before ``before``, soonest first."""
        check_limit(limit)
        due = [run for run in self._one_offs.values() if run.run_at < before]
        due.sort(key=lambda run: (run.run_at, run.run_key))
        return [_one_off_copy(run) for run in due[:limit]]

    async def count_one_offs(self) -> int:
        """How many runs are stored."""
        return len(self._one_offs)

    async def delete_one_off(self, run_key: str) -> bool:
        """Remove the run stored under ``run_key``."""
        return self._one_offs.pop(run_key, None) is not None

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        """Remove version ``token`` of run ``run_key`` and store ``record``."""
        stored = self._one_offs.get(run_key)
        if stored is None or stored.token != token:
            return record.task_id in self._records  # a repeated claim that had won
        del self._one_offs[run_key]
        await self.save([record])
        return True

    # -- bounded memory ------------------------------------------------------------------

    # -- charts --------------------------------------------------------------------------

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """Finished tasks counted by end-time bucket and final status."""
        buckets: list[dict[TaskStatus, int]] = [{} for _ in range(window.count)]
        for record in self._records.values():
            if record.end_time is None or not record.status.is_terminal:
                continue
            if func_name is not None and record.func_name != func_name:
                continue
            index = window.index_of(record.end_time)
            if index is not None:
                counts = buckets[index]
                counts[record.status] = counts.get(record.status, 0) + 1
        return Activity(window=window, buckets=tuple(buckets))

    async def duration_histogram(self, func_name: str | None = None) -> DurationHistogram:
        """Durations of the tasks that have one, binned."""
        counts = [0] * (len(DURATION_EDGES) + 1)
        for record in self._records.values():
            duration = record.duration
            if duration is None or (func_name is not None and record.func_name != func_name):
                continue
            counts[duration_bin(duration)] += 1
        return DurationHistogram(counts=tuple(counts))

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        """Keep ``entry``; beyond ``max_audit`` entries the oldest is forgotten."""
        self._audit.append(entry)

    async def audit_entries(
        self, query: AuditQuery, *, limit: int, cursor: Cursor | None = None
    ) -> AuditPage:
        """Matching entries, newest first, at most ``limit`` of them, after ``cursor``."""
        check_limit(limit)
        matching = [
            entry
            for entry in self._audit
            if query.matches(entry)
            and (cursor is None or cursor.precedes_position(entry.at, entry.entry_id))
        ]
        matching.sort(key=lambda entry: (entry.at, entry.entry_id), reverse=True)
        page = matching[:limit]
        next_cursor = (
            Cursor(page[-1].at, page[-1].entry_id).encode() if len(matching) > limit else None
        )
        return AuditPage(items=page, next_cursor=next_cursor)

    def _track_finished(self, record: TaskRecord) -> None:
        if not record.status.is_terminal:
            self._finished.pop(record.task_id, None)
            return
        self._sequence += 1
        self._finished[record.task_id] = self._sequence
        ended = record.end_time or record.created_at
        heapq.heappush(self._finished_heap, (ended, self._sequence, record.task_id))

    def _evict_finished(self) -> None:
        while len(self._finished) > self._max_finished:
            _, sequence, task_id = heapq.heappop(self._finished_heap)
            if self._finished.get(task_id) == sequence:
                self._forget(task_id)
        if len(self._finished_heap) > 2 * len(self._finished) + 64:
            self._compact_heap()

    def _compact_heap(self) -> None:
        self._finished_heap = [
            entry for entry in self._finished_heap if self._finished.get(entry[2]) == entry[1]
        ]
        heapq.heapify(self._finished_heap)

    def _forget(self, task_id: str) -> None:
        del self._records[task_id]
        self._finished.pop(task_id, None)
        # Keys die with their task, so the key table stays as bounded as the records.
        for key in self._keys_of_task.pop(task_id, ()):
            if self._key_holders.get(key) == task_id:
                del self._key_holders[key]


def _one_off_copy(run: ScheduledOnce) -> ScheduledOnce:
    run_at = as_utc(run.run_at)
    created_at = as_utc(run.created_at)
    if run.encrypted_payload is not None:
        return attrs.evolve(
            run, run_at=run_at, created_at=created_at, args=(), kwargs={}, tags=dict(run.tags)
        )
    return attrs.evolve(
        run, run_at=run_at, created_at=created_at, kwargs=dict(run.kwargs), tags=dict(run.tags)
    )
