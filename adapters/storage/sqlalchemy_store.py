"""Task storage in a SQL database through SQLAlchemy's asyncio engine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fastapi_taskflow.adapters.storage.queue_config_rows import stored_queue_config
from fastapi_taskflow.adapters.storage.sqlalchemy_activity import (
    activity_by_bucket,
    durations_by_bin,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_audit import (
    audit_conditions,
    audit_row,
    row_to_audit,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_dialects import insert_ignore, upsert
from fastapi_taskflow.adapters.storage.sqlalchemy_engine import (
    WRITE_OPTION,
    EngineSetup,
    create_engine,
    is_memory_sqlite,
    normalize_url,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_filters import after_cursor, query_conditions
from fastapi_taskflow.adapters.storage.sqlalchemy_locks import SqlLockTable
from fastapi_taskflow.adapters.storage.sqlalchemy_metrics import aggregate_metrics
from fastapi_taskflow.adapters.storage.sqlalchemy_migrations import upgrade_schema
from fastapi_taskflow.adapters.storage.sqlalchemy_one_off_rows import (
    ONE_OFF_UPDATABLE_COLUMNS,
    one_off_to_row,
    row_to_one_off,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_rows import (
    UPDATABLE_COLUMNS,
    record_to_row,
    row_to_record,
    tag_rows,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import (
    audit_log,
    idempotency_keys,
    instances,
    one_offs,
    queue_configs,
    schedule_slots,
    task_tags,
    tasks,
)
from fastapi_taskflow.adapters.storage.sqlalchemy_upgrade_lock import upgrade_turn
from fastapi_taskflow.adapters.storage.storage_rules import (
    UNFINISHED_STATUSES,
    check_limit,
    latest_per_task,
)
from fastapi_taskflow.domain.activity import Activity, ActivityWindow, DurationHistogram
from fastapi_taskflow.domain.audit import AuditEntry
from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.domain.schedule import SLOT_HISTORY, SlotClaim
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import KEY_RELEASING_STATUSES, TERMINAL_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditPage, AuditQuery
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import TaskPage, TaskQuery

# Keeps IN (...) lists below every database's limit on bound parameters.
_CHUNK = 500

# Finished tasks one retention transaction deletes: a first prune of millions of rows is
# many short transactions instead of one that holds locks (and grows the WAL) for minutes.
_DELETE_BATCH = 500


def _values(statuses: Iterable[TaskStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


async def _write_records(
    connection: AsyncConnection,
    rows: Sequence[dict[str, Any]],
    tags: Sequence[dict[str, str]],
) -> None:
    """Upsert task ``rows`` and replace their tag rows, in the caller's transaction (so a
    claim can commit the task it starts together with the claim)."""
    await connection.execute(upsert(connection.dialect, tasks, UPDATABLE_COLUMNS), rows)
    ids = [row["task_id"] for row in rows]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        await connection.execute(delete(task_tags).where(task_tags.c.task_id.in_(chunk)))
    if tags:
        await connection.execute(task_tags.insert(), tags)


async def _take_over(
    connection: AsyncConnection,
    task_ids: Sequence[str],
    orphaned: Iterable[ColumnElement[bool]],
    owner: str,
) -> Sequence[RowMapping]:
    """Give ``owner`` those of ``task_ids`` that are still orphans and not being taken by
    another client; returns their rows as they were before."""
    locking = (
        select(tasks)
        .where(tasks.c.task_id.in_(task_ids), *orphaned)
        .with_for_update(skip_locked=True)
    )
    rows = (await connection.execute(locking)).mappings().all()
    if rows:
        taken = [row["task_id"] for row in rows]
        await connection.execute(
            update(tasks).where(tasks.c.task_id.in_(taken)).values(instance_id=owner)
        )
    return rows


async def _stored(connection: AsyncConnection, record: TaskRecord) -> bool:
    """Whether ``record`` is stored already: a claim repeated because its first answer was
    lost (a dropped connection) finds it there, and has won."""
    found = await connection.scalar(
        select(tasks.c.task_id).where(tasks.c.task_id == record.task_id)
    )
    return found is not None


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
        self._locks = SqlLockTable(lambda: self._transaction(write=True))

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
        # Instances starting together take turns, so each finds the schema either untouched
        # or complete.
        async with (
            self._connection(write=True) as connection,
            upgrade_turn(connection),
            connection.begin(),
        ):
            await connection.run_sync(upgrade_schema, datetime.now(timezone.utc))

    @contextlib.asynccontextmanager
    async def _transaction(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        async with self._connection(write=write) as connection, connection.begin():
            yield connection

    @contextlib.asynccontextmanager
    async def _connection(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        setup = self._setup
        if setup is None:
            raise RuntimeError("the task storage is not open; call open() first")
        must_wait = setup.single_connection or (write and setup.single_writer)
        turn = self._turn if must_wait else contextlib.nullcontext()
        async with turn, setup.engine.connect() as connection:
            if write:
                await connection.execution_options(**{WRITE_OPTION: True})
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
        async with self._transaction(write=True) as connection:
            await _write_records(connection, rows, tags)

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
        """Delete terminal tasks that ended before ``cutoff``, with their tags and keys;
        returns how many. Deletes in batches, each in a transaction of its own."""
        finished = (
            tasks.c.status.in_(_values(TERMINAL_STATUSES)),
            tasks.c.end_time < cutoff,
        )
        deleted = 0
        while True:
            async with self._transaction(write=True) as connection:
                doomed = (
                    await connection.scalars(
                        select(tasks.c.task_id).where(*finished).limit(_DELETE_BATCH)
                    )
                ).all()
                if not doomed:
                    return deleted
                await connection.execute(delete(task_tags).where(task_tags.c.task_id.in_(doomed)))
                # Keys die with their task, so the key table stays as bounded as the history.
                await connection.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.task_id.in_(doomed))
                )
                # By key alone: with the status condition repeated, SQLite plans the delete
                # on the status index and scans it (twenty times slower on 100k rows).
                # Finished tasks never become unfinished again, so the ids stay valid.
                result = await connection.execute(delete(tasks).where(tasks.c.task_id.in_(doomed)))
            deleted += int(result.rowcount)
            if len(doomed) < _DELETE_BATCH:
                return deleted

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

    async def claim_orphans(
        self, owner: str, live: frozenset[str], *, limit: int
    ) -> Sequence[TaskRecord]:
        """Take over unfinished tasks with no owner or a dead one, oldest first.

        In one writing transaction, the oldest orphans are looked up without locking, then
        locked through their primary keys with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL,
        MySQL/MariaDB), checked again, and given to ``owner``. Sweepers racing each other skip
        the rows another one is taking instead of waiting for them, so every orphan goes to
        exactly one of them (a sweep may return fewer than ``limit`` tasks while others take
        the rest). Locking only by primary key matters on MySQL/MariaDB, whose locking reads
        lock every row they scan: a locking search for the oldest orphans would lock all
        unfinished tasks, and block new ones from being inserted, until it commits. SQLite
        drops the clause; its writing transaction already excludes every other writer.
        """
        check_limit(limit)
        orphaned = (
            tasks.c.status.in_(_values(UNFINISHED_STATUSES)),
            or_(tasks.c.instance_id.is_(None), tasks.c.instance_id.not_in(sorted(live | {owner}))),
        )
        oldest = (
            select(tasks.c.task_id)
            .where(*orphaned)
            .order_by(tasks.c.created_at, tasks.c.task_id)
            .limit(limit)
        )
        rows: list[RowMapping] = []
        async with self._transaction(write=True) as connection:
            candidates = list((await connection.scalars(oldest)).all())
            for start in range(0, len(candidates), _CHUNK):
                chunk = candidates[start : start + _CHUNK]
                rows.extend(await _take_over(connection, chunk, orphaned, owner))
        position = {task_id: index for index, task_id in enumerate(candidates)}
        rows.sort(key=lambda row: position[row["task_id"]])
        claimed = [row_to_record(row, self._serializer) for row in rows]
        for record in claimed:
            record.instance_id = owner
        return claimed

    async def reserve_idempotency_key(self, key: str, task_id: str) -> str:
        """Bind ``key`` to ``task_id`` unless a task that did not fail already holds it.

        A free key is taken by inserting its row. Taking a key over from a holder that failed,
        was cancelled or was rejected happens in a second transaction that first locks the
        key row (``FOR UPDATE``), so racing clients queue on it and exactly one replaces the
        holder; the others then find the new holder and keep it.

        The insert is not part of that second transaction on purpose: in MySQL/MariaDB an
        insert that finds the row already there keeps a shared lock on it until its
        transaction ends, and racers that each hold one and then want to update the row
        deadlock.
        """
        keys = idempotency_keys.c
        reservation = {"idempotency_key": key, "task_id": task_id}
        # Repeats only when the key row is pruned between the two steps.
        while True:
            async with self._transaction(write=True) as connection:
                inserted = await connection.execute(
                    insert_ignore(connection.dialect, idempotency_keys), reservation
                )
            if inserted.rowcount == 1:
                return task_id
            async with self._transaction(write=True) as connection:
                holder = await connection.scalar(
                    select(keys.task_id).where(keys.idempotency_key == key).with_for_update()
                )
                if holder is None:
                    continue
                if holder == task_id:
                    return task_id
                status = await connection.scalar(
                    select(tasks.c.status).where(tasks.c.task_id == holder)
                )
                # A holder whose record is not saved yet is still being enqueued: it keeps
                # the key.
                if status is None or TaskStatus(status) not in KEY_RELEASING_STATUSES:
                    return str(holder)
                await connection.execute(
                    update(idempotency_keys)
                    .where(keys.idempotency_key == key)
                    .values(task_id=task_id)
                )
                return task_id

    # -- schedules -----------------------------------------------------------------------

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        """Claim ``slot`` of ``entry`` and store ``record`` in the same transaction.

        Each slot is a row of its own, inserted by the claim: the primary key lets exactly
        one racer insert it, and a racer whose insert meets another's uncommitted row waits
        for that transaction only, never for claims of other slots (so an instance frozen
        halfway through claiming one slot holds up none of the next ones). Rows of slots
        older than :data:`~fastapi_taskflow.domain.schedule.SLOT_HISTORY` before the newest
        are pruned by the claim of the newest, and claims of slots that old are refused.

        Raises:
            TypeError: the record's arguments cannot be serialized; nothing is written.
        """
        rows = [record_to_row(record, self._serializer)]
        tags = tag_rows(record)
        slots = schedule_slots.c
        slot = as_utc(slot)  # arithmetic on a zone's local time would skip DST changes
        claim = {"entry": entry, "slot": slot, "task_id": record.task_id}
        async with self._transaction(write=True) as connection:
            superseded = await connection.scalar(
                select(slots.slot)
                .where(slots.entry == entry, slots.slot > slot + SLOT_HISTORY)
                .limit(1)
            )
            if superseded is not None:
                return await _stored(connection, record)
            inserted = await connection.execute(
                insert_ignore(connection.dialect, schedule_slots), claim
            )
            if inserted.rowcount != 1:
                return await _stored(connection, record)
            await _write_records(connection, rows, tags)
            await connection.execute(
                delete(schedule_slots).where(
                    slots.entry == entry, slots.slot < slot - SLOT_HISTORY
                )
            )
            return True

    async def last_slots(self, entries: Collection[str]) -> Mapping[str, SlotClaim]:
        """The latest claim of each of ``entries`` that has one."""
        names = sorted(set(entries))
        slots = schedule_slots.c
        claims: dict[str, SlotClaim] = {}
        async with self._transaction() as connection:
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                latest = (
                    select(slots.entry, func.max(slots.slot).label("slot"))
                    .where(slots.entry.in_(chunk))
                    .group_by(slots.entry)
                    .subquery()
                )
                result = await connection.execute(
                    select(schedule_slots).join(
                        latest, and_(slots.entry == latest.c.entry, slots.slot == latest.c.slot)
                    )
                )
                for row in result.mappings():
                    claims[row["entry"]] = SlotClaim(
                        entry=row["entry"], slot=row["slot"], task_id=row["task_id"]
                    )
        return claims

    async def save_one_off(self, run: ScheduledOnce) -> None:
        """Store ``run``, replacing the run with the same key.

        Raises:
            TypeError: its arguments cannot be serialized; nothing is written.
        """
        row = one_off_to_row(run, self._serializer)
        async with self._transaction(write=True) as connection:
            await connection.execute(
                upsert(connection.dialect, one_offs, ONE_OFF_UPDATABLE_COLUMNS), [row]
            )

    async def one_offs_due(self, before: datetime, *, limit: int) -> Sequence[ScheduledOnce]:
        """Stored runs due before ``before``, soonest first (then by key)."""
        check_limit(limit)
        statement = (
            select(one_offs)
            .where(one_offs.c.run_at < before)
            .order_by(one_offs.c.run_at, one_offs.c.run_key)
            .limit(limit)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [row_to_one_off(row, self._serializer) for row in rows]

    async def count_one_offs(self) -> int:
        """How many runs are stored."""
        async with self._transaction() as connection:
            count = await connection.scalar(select(func.count()).select_from(one_offs))
        return int(count or 0)

    async def delete_one_off(self, run_key: str) -> bool:
        """Remove the run stored under ``run_key``; False when there was none."""
        async with self._transaction(write=True) as connection:
            result = await connection.execute(
                delete(one_offs).where(one_offs.c.run_key == run_key)
            )
        return bool(result.rowcount == 1)

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        """Delete version ``token`` of run ``run_key`` and store ``record``, in one transaction.

        The conditional delete is the claim: racers queue on the row, and only the first finds
        it still there.

        Raises:
            TypeError: the record's arguments cannot be serialized; nothing is written.
        """
        rows = [record_to_row(record, self._serializer)]
        tags = tag_rows(record)
        async with self._transaction(write=True) as connection:
            removed = await connection.execute(
                delete(one_offs).where(one_offs.c.run_key == run_key, one_offs.c.token == token)
            )
            if removed.rowcount != 1:
                return await _stored(connection, record)
            await _write_records(connection, rows, tags)
            return True

    # -- instance leases -----------------------------------------------------------------

    # -- charts --------------------------------------------------------------------------

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """Finished tasks counted by end-time bucket and final status, in one query."""
        async with self._transaction() as connection:
            return await activity_by_bucket(connection, window, func_name)

    async def duration_histogram(self, func_name: str | None = None) -> DurationHistogram:
        """Durations of the tasks that have one, binned in one query."""
        async with self._transaction() as connection:
            return await durations_by_bin(connection, func_name)

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        """Insert ``entry`` (committed before this returns)."""
        async with self._transaction(write=True) as connection:
            await connection.execute(audit_log.insert().values(**audit_row(entry)))

    async def audit_entries(
        self, query: AuditQuery, *, limit: int, cursor: Cursor | None = None
    ) -> AuditPage:
        """Matching entries, newest first, at most ``limit`` of them, after ``cursor``."""
        check_limit(limit)
        statement = (
            select(audit_log)
            .where(*audit_conditions(query, cursor))
            .order_by(audit_log.c.at.desc(), audit_log.c.entry_id.desc())
            .limit(limit + 1)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        items = [row_to_audit(row) for row in rows[:limit]]
        next_cursor = (
            Cursor(items[-1].at, items[-1].entry_id).encode() if len(rows) > limit else None
        )
        return AuditPage(items=items, next_cursor=next_cursor)

    # -- queue settings ----------------------------------------------------------------

    async def save_queue_config(self, name: str, config: QueueConfig) -> None:
        """Store ``config`` as the limits of queue ``name``, replacing earlier ones."""
        row = {"name": name, **config.to_dict(), "updated_at": datetime.now(timezone.utc)}
        async with self._transaction(write=True) as connection:
            await connection.execute(
                upsert(
                    connection.dialect,
                    queue_configs,
                    ["concurrency", "max_size", "fair_by", "updated_at"],
                ),
                [row],
            )

    async def queue_configs(self) -> Mapping[str, QueueConfig]:
        """Every stored queue's limits, by name."""
        async with self._transaction() as connection:
            rows = (await connection.execute(select(queue_configs))).mappings().all()
        found = {row["name"]: stored_queue_config(row["name"], dict(row)) for row in rows}
        return {name: config for name, config in found.items() if config is not None}

    async def heartbeat(self, instance_id: str, now: datetime, ttl: float) -> None:
        """Record that ``instance_id`` is alive until ``now + ttl``; forget expired leases."""
        lease = {"instance_id": instance_id, "expires_at": now + timedelta(seconds=ttl)}
        async with self._transaction(write=True) as connection:
            await connection.execute(upsert(connection.dialect, instances, ["expires_at"]), lease)
        # Its own transaction: holding the new lease row while scanning the others for expired
        # ones deadlocked instances starting together on MySQL/MariaDB.
        async with self._transaction(write=True) as connection:
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

    # -- locks -------------------------------------------------------------------------

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds (or extend it, when ``owner`` holds it).

        Expiry follows this process's wall clock; see
        :class:`~fastapi_taskflow.adapters.storage.sqlalchemy_locks.SqlLockTable`.
        """
        return await self._locks.acquire(key, owner, ttl)

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` up; False when ``owner`` did not hold it (or it had expired)."""
        return await self._locks.release(key, owner)
