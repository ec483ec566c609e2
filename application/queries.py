"""Reading tasks: one, a filtered page of history, and aggregate metrics."""

from __future__ import annotations

from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import Cursor, TaskPage, TaskQuery, TaskRepository

#: Largest page a caller may ask for.
MAX_PAGE_SIZE = 1000


class TaskQueries:
    """Read side. Storage is the source of history; changes still in the write-behind buffer
    are flushed first, so a reader always sees what this process has done."""

    def __init__(self, *, storage: TaskRepository, store: TaskStore, writer: WriteBehind) -> None:
        self._storage = storage
        self._store = store
        self._writer = writer

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task, from memory when this process holds it, else from storage."""
        record = self._store.get(task_id)
        if record is not None:
            return record
        await self._writer.flush()
        return await self._storage.get(task_id)

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
