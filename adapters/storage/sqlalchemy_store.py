"""Task storage in a SQL database through SQLAlchemy's asyncio engine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from fastapi_taskflow.adapters.storage.sqlalchemy_dialects import insert_ignore, upsert
from fastapi_taskflow.adapters.storage.sqlalchemy_engine import (
    WRITE_OPTION,
    EngineSetup,
    create_engine,
    is_memory_sqlite,
    normalize_url,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_filters import after_cursor, query_conditions
from fastapi_taskflow.adapters.storage.sqlalchemy_metrics import aggregate_metrics
from fastapi_taskflow.adapters.storage.sqlalchemy_migrations import upgrade_schema
from fastapi_taskflow.adapters.storage.sqlalchemy_rows import (
    UPDATABLE_COLUMNS,
    record_to_row,
    row_to_record,
    tag_rows,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import (
    idempotency_keys,
    instances,
    task_tags,
    tasks,
)
from fastapi_taskflow.adapters.storage.storage_rules import (
    UNFINISHED_STATUSES,
    check_limit,
    latest_per_task,
)
from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.status import KEY_RELEASING_STATUSES, TERMINAL_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import Cursor, TaskPage, TaskQuery

# Keeps IN (...) lists below every database's limit on bound parameters.
_CHUNK = 500


def _values(statuses: Iterable[TaskStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


class SqlAlchemyTaskStorage:
    """A :class:`~fastapi_taskflow.ports.storage.TaskStorage` in SQLite, PostgreSQL or MySQL.

    The engine is created by :meth:`open`, in the event loop that will use it, and disposed by
    :meth:`close`. Opening creates missing tables and upgrades older ones. SQLite files run in
    WAL mode with a busy timeout, so several processes on one host can share a file.

    Args:
        url: A SQLAlchemy URL. A URL without a driver gets the async one
            (``sqlite:///tasks.db`` is read as ``sqlite+aiosqlite:///tasks.db``);
            ``sqlite:///:memory:`` keeps everything in one private connection, until
            :meth:`close`.
        serializer: Encodes task arguments for the ``args`` and ``kwargs`` columns.
        echo: Log every SQL statement (for debugging).
    """

    #: True, except for ``sqlite:///:memory:``, whose data goes with its connection.
    durable: bool = True

    def __init__(self, url: str, *, serializer: Serializer, echo: bool = False) -> None:
        self.durable = not is_memory_sqlite(normalize_url(url))
        self._url = url
        self._serializer = serializer
        self._echo = echo
        self._setup: EngineSetup | None = None
        # Made again by open(): a lock belongs to the event loop that first waits on it.
        self._turn = asyncio.Lock()

    async def open(self) -> None:
        """Create the engine and bring the tables to the current schema version."""
        if self._setup is not None:
            return
        self._turn = asyncio.Lock()
        self._setup = create_engine(self._url, echo=self._echo)
        try:
            await self._upgrade_schema()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Dispose of the engine and its connections."""
        setup, self._setup = self._setup, None
        if setup is not None:
            await setup.engine.dispose()

    async def _upgrade_schema(self) -> None:
        now = datetime.now(timezone.utc)
        try:
            async with self._transaction(write=True) as connection:
                await connection.run_sync(upgrade_schema, now)
        except DBAPIError:
            # Another instance may have created the same tables at the same moment; the
            # second attempt then finds them in place.
            async with self._transaction(write=True) as connection:
                await connection.run_sync(upgrade_schema, now)

    @contextlib.asynccontextmanager
    async def _transaction(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        setup = self._setup
        if setup is None:
            raise RuntimeError("the task storage is not open; call open() first")
        must_wait = setup.single_connection or (write and setup.single_writer)
        turn = self._turn if must_wait else contextlib.nullcontext()
        async with turn, setup.engine.connect() as connection:
            if write:
                await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                yield connection

    # -- records -------------------------------------------------------------------------

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Insert or replace each record (by ``task_id``) in one transaction.

        Raises:
            TypeError: a record's arguments cannot be serialized; nothing is written.
        """
        batch = latest_per_task(records)
        if not batch:
            return
        rows = [record_to_row(record, self._serializer) for record in batch]
        tags = [tag for record in batch for tag in tag_rows(record)]
        ids = [record.task_id for record in batch]
        async with self._transaction(write=True) as connection:
            statement = upsert(connection.dialect, tasks, UPDATABLE_COLUMNS)
            await connection.execute(statement, rows)
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                await connection.execute(delete(task_tags).where(task_tags.c.task_id.in_(chunk)))
            if tags:
                await connection.execute(task_tags.insert(), tags)

    async def get(self, task_id: str) -> TaskRecord | None:
        """The stored record, or ``None``."""
        async with self._transaction() as connection:
            result = await connection.execute(select(tasks).where(tasks.c.task_id == task_id))
            row = result.mappings().one_or_none()
        return None if row is None else row_to_record(row, self._serializer)

    async def query(
        self, query: TaskQuery, *, limit: int, cursor: Cursor | None = None
    ) -> TaskPage:
        """Matching tasks, newest first, at most ``limit`` of them, after ``cursor``.

        Pages are found by position (keyset pagination), so deep pages cost as little as the
        first one.
        """
        check_limit(limit)
        conditions = query_conditions(query)
        if cursor is not None:
            conditions.append(after_cursor(cursor))
        statement = (
            select(tasks)
            .where(*conditions)
            .order_by(tasks.c.created_at.desc(), tasks.c.task_id.desc())
            .limit(limit + 1)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        items = [row_to_record(row, self._serializer) for row in rows[:limit]]
        next_cursor = Cursor.after(items[-1]).encode() if len(rows) > limit else None
        return TaskPage(items=items, next_cursor=next_cursor)

    async def metrics(self, query: TaskQuery) -> TaskMetrics:
        """Counts per status and duration statistics of the matching tasks, computed in SQL."""
        async with self._transaction() as connection:
            return await aggregate_metrics(connection, query_conditions(query))

    async def unfinished(self, *, limit: int) -> Sequence[TaskRecord]:
        """Pending and running tasks, oldest first."""
        check_limit(limit)
        statement = (
            select(tasks)
            .where(tasks.c.status.in_(_values(UNFINISHED_STATUSES)))
            .order_by(tasks.c.created_at, tasks.c.task_id)
            .limit(limit)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [row_to_record(row, self._serializer) for row in rows]

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Delete terminal tasks that ended before ``cutoff``, with their tags and keys."""
        finished = (
            tasks.c.status.in_(_values(TERMINAL_STATUSES)),
            tasks.c.end_time < cutoff,
        )
        doomed = select(tasks.c.task_id).where(*finished)
        async with self._transaction(write=True) as connection:
            await connection.execute(delete(task_tags).where(task_tags.c.task_id.in_(doomed)))
            # Keys die with their task, so the key table stays as bounded as the history.
            await connection.execute(
                delete(idempotency_keys).where(idempotency_keys.c.task_id.in_(doomed))
            )
            result = await connection.execute(delete(tasks).where(*finished))
        return int(result.rowcount)

    # -- claims and idempotency ----------------------------------------------------------

    async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
        """Set the task's owner to ``owner`` if it is still ``expected_owner``, atomically."""
        still_expected = (
            tasks.c.instance_id.is_(None)
            if expected_owner is None
            else tasks.c.instance_id == expected_owner
        )
        statement = (
            update(tasks)
            .where(tasks.c.task_id == task_id, still_expected)
            .values(instance_id=owner)
        )
        async with self._transaction(write=True) as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount == 1)

    async def reserve_idempotency_key(self, key: str, task_id: str) -> str:
        """Bind ``key`` to ``task_id`` unless a task that did not fail already holds it.

        The key row is inserted if missing; a holder whose stored task failed, was cancelled or
        was rejected is replaced by a conditional update on that holder, so of several racing
        clients exactly one takes the key over.
        """
        keys = idempotency_keys.c
        async with self._transaction(write=True) as connection:
            inserted = await connection.execute(
                insert_ignore(connection.dialect, idempotency_keys),
                {"idempotency_key": key, "task_id": task_id},
            )
            if inserted.rowcount == 1:
                return task_id
            holder = await connection.scalar(
                select(keys.task_id).where(keys.idempotency_key == key)
            )
            if holder == task_id:
                return task_id
            if holder is None:
                # The row was pruned with its task in between: the key is free again.
                await connection.execute(
                    upsert(connection.dialect, idempotency_keys, ["task_id"]),
                    {"idempotency_key": key, "task_id": task_id},
                )
                return task_id
            holder_released = exists().where(
                tasks.c.task_id == holder, tasks.c.status.in_(_values(KEY_RELEASING_STATUSES))
            )
            taken = await connection.execute(
                update(idempotency_keys)
                .where(keys.idempotency_key == key, keys.task_id == holder, holder_released)
                .values(task_id=task_id)
            )
            if taken.rowcount == 1:
                return task_id
            # Someone else changed the holder first: whoever holds the key now wins.
            current = await connection.scalar(
                select(keys.task_id).where(keys.idempotency_key == key)
            )
        return str(holder if current is None else current)

    # -- instance leases -----------------------------------------------------------------

    async def heartbeat(self, instance_id: str, now: datetime, ttl: float) -> None:
        """Record that ``instance_id`` is alive until ``now + ttl``; forget expired leases."""
        lease = {"instance_id": instance_id, "expires_at": now + timedelta(seconds=ttl)}
        async with self._transaction(write=True) as connection:
            await connection.execute(upsert(connection.dialect, instances, ["expires_at"]), lease)
            await connection.execute(
                delete(instances).where(
                    instances.c.expires_at <= now, instances.c.instance_id != instance_id
                )
            )

    async def live_instances(self, now: datetime) -> frozenset[str]:
        """Instances whose lease has not expired at ``now``."""
        async with self._transaction() as connection:
            result = await connection.scalars(
                select(instances.c.instance_id).where(instances.c.expires_at > now)
            )
            return frozenset(result.all())

    async def release_instance(self, instance_id: str) -> None:
        """Forget an instance on clean shutdown."""
        async with self._transaction(write=True) as connection:
            await connection.execute(
                delete(instances).where(instances.c.instance_id == instance_id)
            )
