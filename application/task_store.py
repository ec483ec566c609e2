"""The tasks this process is working on, and a bounded window of recent ones."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from fastapi_taskflow.domain.status import KEY_RELEASING_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord


class TaskStore:
    """In-memory working set: live tasks plus the most recently finished ones.

    Memory does not grow with history: finished tasks beyond ``recent_limit`` are forgotten here
    (storage keeps them). Safe to use from the event loop and from worker threads.
    """

    def __init__(self, recent_limit: int = 1000) -> None:
        if recent_limit < 0:
            raise ValueError("recent_limit must be >= 0")
        self.recent_limit = recent_limit
        self._live: dict[str, TaskRecord] = {}
        self._recent: OrderedDict[str, TaskRecord] = OrderedDict()
        self._keys: dict[str, str] = {}
        # Ids of the pending tasks of each queue, kept current on every change so that
        # backpressure checks cost O(1) however long the queue.
        self._pending: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, record: TaskRecord) -> None:
        """Track a task that is pending or running."""
        with self._lock:
            self._live[record.task_id] = record
            self._recent.pop(record.task_id, None)
            self._track(record)
            if record.idempotency_key is not None:
                self._keys[record.idempotency_key] = record.task_id

    def settle(self, record: TaskRecord) -> None:
        """Move a task that reached a terminal status to the recent window (or back to live)."""
        with self._lock:
            self._track(record)
            if record.status.is_live:
                self._live[record.task_id] = record
                return
            self._live.pop(record.task_id, None)
            self._recent[record.task_id] = record
            self._recent.move_to_end(record.task_id)
            self._trim()

    def _track(self, record: TaskRecord) -> None:
        if record.status is TaskStatus.PENDING:
            self._pending.setdefault(record.queue, set()).add(record.task_id)
            return
        waiting = self._pending.get(record.queue)
        if waiting is not None:
            waiting.discard(record.task_id)
            if not waiting:
                del self._pending[record.queue]

    def pending_in(self, queue: str) -> int:
        """How many tasks of ``queue`` held here are pending (waiting to start)."""
        with self._lock:
            return len(self._pending.get(queue, ()))

    def _trim(self) -> None:
        while len(self._recent) > self.recent_limit:
            _, dropped = self._recent.popitem(last=False)
            self._release_key(dropped)

    def _release_key(self, dropped: TaskRecord) -> None:
        key = dropped.idempotency_key
        if key is not None and self._keys.get(key) == dropped.task_id:
            del self._keys[key]

    def remember(self, record: TaskRecord) -> None:
        """Add a finished task read back from storage (after a restart), unless already held.

        This keeps idempotency keys of recent tasks working across restarts.
        """
        if record.status.is_live:
            raise ValueError("remember() takes finished tasks; use add() for live ones")
        with self._lock:
            if record.task_id in self._live or record.task_id in self._recent:
                return
            self._recent[record.task_id] = record
            self._recent.move_to_end(record.task_id, last=False)  # older than anything held
            key = record.idempotency_key
            if key is not None:
                self._keys.setdefault(key, record.task_id)
            self._trim()

    def refresh(self, record: TaskRecord) -> None:
        """Hold ``record`` instead of the remembered copy of the same finished task."""
        if record.status.is_live:
            raise ValueError("refresh() takes finished tasks")
        with self._lock:
            if record.task_id in self._recent:
                self._recent[record.task_id] = record

    def drop_finished_before(self, cutoff: datetime) -> int:
        """Forget finished tasks that ended before ``cutoff`` (their history was deleted)."""
        with self._lock:
            gone = [
                task_id
                for task_id, record in self._recent.items()
                if record.end_time is not None and record.end_time < cutoff
            ]
            for task_id in gone:
                self._release_key(self._recent.pop(task_id))
        return len(gone)

    def get(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            return self._live.get(task_id) or self._recent.get(task_id)

    def find_by_idempotency_key(self, key: str) -> TaskRecord | None:
        """The known task holding ``key``, unless it failed (a failed key may be reused)."""
        with self._lock:
            task_id = self._keys.get(key)
            if task_id is None:
                return None
            record = self._live.get(task_id) or self._recent.get(task_id)
        if record is None or record.status in KEY_RELEASING_STATUSES:
            return None
        return record

    @property
    def live_count(self) -> int:
        """How many pending and running tasks this process holds."""
        return len(self._live)

    def live(self) -> list[TaskRecord]:
        """Pending and running tasks of this process."""
        with self._lock:
            return list(self._live.values())

    def recent(self) -> list[TaskRecord]:
        """Recently finished tasks, oldest first."""
        with self._lock:
            return list(self._recent.values())

    def list(self) -> list[TaskRecord]:
        """Every task held here, live ones first."""
        with self._lock:
            return [*self._live.values(), *reversed(self._recent.values())]

    def __len__(self) -> int:
        with self._lock:
            return len(self._live) + len(self._recent)

    def __contains__(self, task_id: object) -> bool:
        with self._lock:
            return task_id in self._live or task_id in self._recent
