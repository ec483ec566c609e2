"""Reading tasks: one, a filtered page of history, aggregate metrics and chart counts."""

from __future__ import annotations

from typing import Protocol

from fastapi_taskflow.application.activity_cache import ActivityCache
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.activity import Activity, ActivityWindow, DurationHistogram
from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.activity import ActivityStats
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskPage, TaskQuery, TaskRepository

#: Largest page a caller may ask for.
MAX_PAGE_SIZE = 1000


class _Readable(TaskRepository, ActivityStats, Protocol):
    """What the read side needs of storage."""


class TaskQueries:
    """Read side. Storage is the source of history; changes still in the write-behind buffer
    are flushed first, so a reader always sees what this process has done."""

    def __init__(
        self, *, storage: _Readable, store: TaskStore, writer: WriteBehind, clock: Clock
    ) -> None:
        self._storage = storage
        self._store = store
        self._writer = writer
        self._activity = ActivityCache(self._counted_activity, clock)

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task: from memory while this process runs it, else from storage.

        A finished task is read from storage even when this process still remembers it:
        other instances (or the command line) may have retried it or deleted it since. The
        remembered copy answers only while storage cannot.
        """
        record = self._store.get(task_id)
        if record is not None and record.status.is_live:
            return record
        flushed = await self._writer.flush()
        try:
            stored = await self._storage.get(task_id)
        except Exception:
            if record is None:
                raise
            return record
        if stored is None and not flushed:
            return record  # its last change is still waiting to be written
        return stored

    async def page(
        self, query: TaskQuery, *, limit: int = 100, cursor: str | None = None
    ) -> TaskPage:
        """Matching tasks, newest first. ``ValueError`` for a bad limit or cursor."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        position = Cursor.decode(cursor) if cursor else None
        await self._writer.flush()
        return await self._storage.query(query, limit=limit, cursor=position)

    async def metrics(self, query: TaskQuery | None = None) -> TaskMetrics:
        """Counts and durations, computed by the store."""
        await self._writer.flush()
        return await self._storage.metrics(query or TaskQuery())

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """Finished tasks per bucket of ``window`` and final status (see
        :class:`ActivityCache` for what is counted again on each call)."""
        await self._writer.flush()
        return await self._activity.activity(window, func_name)

    async def _counted_activity(self, window: ActivityWindow, func_name: str | None) -> Activity:
        return await self._storage.activity(window, func_name)

    async def duration_histogram(self, func_name: str | None = None) -> DurationHistogram:
        """How many tasks took how long."""
        await self._writer.flush()
        return await self._storage.duration_histogram(func_name)
