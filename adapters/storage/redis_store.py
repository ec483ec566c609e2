"""Task storage in Redis, with indexes and counters kept by Lua scripts."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import attrs
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from fastapi_taskflow.adapters.storage import redis_scripts
from fastapi_taskflow.adapters.storage.audit_codec import (
    audit_document,
    audit_from_document,
    dumps,
)
from fastapi_taskflow.adapters.storage.queue_config_rows import stored_queue_config
from fastapi_taskflow.adapters.storage.redis_client import connect
from fastapi_taskflow.adapters.storage.redis_codec import (
    ORIGIN_FIELDS,
    RECORD_FIELDS,
    SCRIPT_ARGS_PER_TASK,
    decode_task,
    encode_task,
)
from fastapi_taskflow.adapters.storage.redis_keys import RedisKeys
from fastapi_taskflow.adapters.storage.redis_metrics import QUANTILE, MetricsTally, from_summary
from fastapi_taskflow.adapters.storage.redis_one_off_codec import decode_one_off, encode_one_off
from fastapi_taskflow.adapters.storage.redis_ordering import (
    HIGHEST,
    ID_OFFSET,
    LOWEST,
    from_microseconds,
    from_stamp,
    member,
    microseconds,
    page_range,
)
from fastapi_taskflow.adapters.storage.redis_schema import check_schema
from fastapi_taskflow.adapters.storage.storage_rules import (
    UNFINISHED_STATUSES,
    check_limit,
    latest_per_task,
)
from fastapi_taskflow.domain.activity import (
    DURATION_EDGES,
    Activity,
    ActivityWindow,
    DurationHistogram,
)
from fastapi_taskflow.domain.audit import AuditEntry
from fastapi_taskflow.domain.metrics import TaskMetrics
from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.domain.schedule import SlotClaim
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import KEY_RELEASING_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditPage, AuditQuery
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import TaskPage, TaskQuery

#: Tasks per save-script call; bigger batches are several calls in one MULTI/EXEC.
_SAVE_CHUNK = 200

#: Index members one script call may visit, so no call keeps the server busy for long.
_SCAN_BUDGET = 500

#: Audit entries read per round trip while filling a page, and the most one page may visit:
#: a rare filter answers a short page (with a cursor to go on) instead of reading everything.
_AUDIT_CHUNK = 200
_AUDIT_BUDGET = 10_000

#: Finished tasks one activity-script call tallies.
_ACTIVITY_CHUNK = 1000

#: Finished tasks one retention call deletes.
_DELETE_CHUNK = 500

_RELEASING = sorted(status.value for status in KEY_RELEASING_STATUSES)

#: Arguments of one save-script call.
_SaveCall = list[bytes | str | int]


class _Scripts:
    """The store's Lua scripts, registered with one client."""

    def __init__(self, client: Redis) -> None:
        self.save = client.register_script(redis_scripts.SAVE)
        self.delete_ended = client.register_script(redis_scripts.DELETE_ENDED)
        self.scan = client.register_script(redis_scripts.SCAN)
        self.oldest = client.register_script(redis_scripts.OLDEST)
        self.claim = client.register_script(redis_scripts.CLAIM)
        self.claim_orphans = client.register_script(redis_scripts.CLAIM_ORPHANS)
        self.reserve_key = client.register_script(redis_scripts.RESERVE_KEY)
        self.summary = client.register_script(redis_scripts.SUMMARY)
        self.acquire_lock = client.register_script(redis_scripts.ACQUIRE_LOCK)
        self.release_lock = client.register_script(redis_scripts.RELEASE_LOCK)
        self.one_offs_due = client.register_script(redis_scripts.ONE_OFFS_DUE)
        self.activity = client.register_script(redis_scripts.ACTIVITY)


@attrs.frozen
class _Connection:
    client: Redis
    scripts: _Scripts


class RedisTaskStorage:
    """A :class:`~fastapi_taskflow.ports.storage.TaskStorage` in Redis.

    Each task is a hash; sorted-set indexes (by status, function, queue, source, tag and the
    route, method, id and principal of the enqueuing request, in page order) answer queries a
    page at a time, counters answer unfiltered metrics, and a set scored by end time finds
    what retention deletes, so no call reads every task. Every write that touches several keys
    is a Lua script, which Redis runs without interleaving other commands: concurrent clients
    never see half-written indexes, and claims, idempotency keys and locks are atomic. A
    filtered query walks the smallest matching index in chunks and checks the other filters
    per task; filtered metrics tally such a walk to its end.
    Schedule slots and one-off runs are claimed by optimistic transactions instead (WATCH,
    then MULTI/EXEC queueing the save script), so the claim and the task it starts are
    written together or not at all.

    The client connects in :meth:`open` (in the running event loop) and resends a command
    that met a dropped connection on a new one (see
    :func:`~fastapi_taskflow.adapters.storage.redis_client.connect`). The scripts name keys
    from stored data, so the store needs one Redis server (or shard), not a Redis Cluster.
    A resent command may run twice; every write is idempotent except the claims: a claim
    whose reply was lost with its connection reports that it failed, though the task is the
    caller's.

    Args:
        url: ``redis://``, ``rediss://`` or ``unix://`` URL of the server and database.
        serializer: Encodes task arguments.
        prefix: Start of every key name, so several stores can share one database.
        client_kwargs: Options for :class:`redis.asyncio.Redis` (timeouts, ``client_name``,
            TLS settings, ``retry``, ...), applied over the store's defaults.
    """

    durable = True

    def __init__(
        self,
        url: str,
        *,
        serializer: Serializer,
        prefix: str = "taskflow",
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url
        self._serializer = serializer
        self._keys = RedisKeys(prefix)
        # Records are binary (serialized arguments), so replies stay bytes.
        self._client_kwargs = {**(client_kwargs or {}), "decode_responses": False}
        self._connection: _Connection | None = None
        keys = self._keys
        self._bookkeeping_keys = [keys.functions, keys.durations, keys.duration_sums, keys.ended]
        self._bookkeeping_args = [
            keys.task_stem,
            keys.counts_stem,
            keys.durations_stem,
            keys.held_keys_stem,
            keys.idempotency_stem,
        ]

    async def open(self) -> None:
        """Connect, and check (or record) the version of the key layout.

        Raises:
            SchemaTooNew: the store was written by a newer version of fastapi-taskflow.
        """
        if self._connection is not None:
            return
        client = connect(self._url, self._client_kwargs)
        try:
            await check_schema(client, self._keys)
        except BaseException:
            await client.aclose()
            raise
        self._connection = _Connection(client, _Scripts(client))

    async def close(self) -> None:
        """Close the connection pool."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.client.aclose()

    def _open(self) -> _Connection:
        if self._connection is None:
            raise RuntimeError("the task storage is not open; call open() first")
        return self._connection

    # -- records -------------------------------------------------------------------------

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Insert or replace each record (by ``task_id``), all of them atomically.

        Up to 200 records are one script call; a bigger batch is several calls in one
        MULTI/EXEC transaction, sent in one round trip.

        Raises:
            TypeError: a record's arguments cannot be serialized; nothing is written.
        """
        connection = self._open()
        calls = self._save_calls(records)
        if not calls:
            return
        if len(calls) == 1:
            await connection.scripts.save(self._bookkeeping_keys, calls[0])
            return
        async with connection.client.pipeline(transaction=True) as pipe:
            await self._queue_saves(connection, pipe, calls)
            await pipe.execute()

    def _save_calls(self, records: Sequence[TaskRecord]) -> list[_SaveCall]:
        """The save-script calls that write ``records``; raises ``TypeError`` as :meth:`save`."""
        batch = [
            encode_task(record, self._serializer, self._keys)
            for record in latest_per_task(records)
        ]
        calls = []
        for start in range(0, len(batch), _SAVE_CHUNK):
            chunk = batch[start : start + _SAVE_CHUNK]
            arguments: _SaveCall = [*self._bookkeeping_args, SCRIPT_ARGS_PER_TASK, len(chunk)]
            for encoded in chunk:
                arguments.extend(encoded.script_args())
            calls.append(arguments)
        return calls

    async def _queue_saves(
        self, connection: _Connection, pipe: Pipeline, calls: Sequence[_SaveCall]
    ) -> None:
        for arguments in calls:
            await connection.scripts.save(self._bookkeeping_keys, arguments, client=pipe)

    async def get(self, task_id: str) -> TaskRecord | None:
        """The stored record, or ``None``."""
        connection = self._open()
        fields = await connection.client.hmget(self._keys.task(task_id), list(RECORD_FIELDS))
        if fields[0] is None:
            return None
        # Replies are bytes: the client is made with decode_responses=False.
        return decode_task(cast("list[bytes | None]", fields), self._serializer)

    async def query(
        self, query: TaskQuery, *, limit: int, cursor: Cursor | None = None
    ) -> TaskPage:
        """Matching tasks, newest first, at most ``limit`` of them, after ``cursor``.

        Pages are found by position in the indexes (keyset pagination), so deep pages cost
        as little as the first one.
        """
        check_limit(limit)
        connection = self._open()
        groups = self._filter_groups(query)
        if groups is None:
            return TaskPage(items=[])
        bounds = page_range(query, cursor)
        found: list[Sequence[bytes | None]] = []
        high: str | bytes = bounds.high
        while True:
            next_high, matches = await self._scan(
                connection, "page", groups, high, bounds.low, want=limit + 1 - len(found)
            )
            found.extend(matches)
            if len(found) > limit or next_high is None:
                break
            high = next_high
        items = [decode_task(fields, self._serializer) for fields in found[:limit]]
        next_cursor = Cursor.after(items[-1]).encode() if len(found) > limit else None
        return TaskPage(items=items, next_cursor=next_cursor)

    async def metrics(self, query: TaskQuery) -> TaskMetrics:
        """Counts per status and duration statistics of the matching tasks.

        Without filters, or with only a function name, they come from counters; other
        filters walk the narrowest matching index to its end, in chunks.
        """
        connection = self._open()
        keys = self._keys
        if query == TaskQuery() or (
            query.func_name is not None and attrs.evolve(query, func_name=None) == TaskQuery()
        ):
            only = [] if query.func_name is None else [query.func_name]
            reply = await connection.scripts.summary(
                [keys.functions, keys.durations, keys.duration_sums],
                [keys.counts_stem, keys.durations_stem, repr(QUANTILE), *only],
            )
            return from_summary(reply)
        tally = MetricsTally()
        groups = self._filter_groups(query)
        if groups is not None:
            bounds = page_range(query, None)
            high: str | bytes = bounds.high
            while True:
                next_high, matches = await self._scan(
                    connection, "stats", groups, high, bounds.low, want=0
                )
                tally.add(matches)
                if next_high is None:
                    break
                high = next_high
        return tally.metrics()

    async def unfinished(self, *, limit: int) -> Sequence[TaskRecord]:
        """Pending and running tasks, oldest first."""
        check_limit(limit)
        connection = self._open()
        found = await connection.scripts.oldest(
            [self._keys.unfinished], [self._keys.task_stem, ID_OFFSET, limit]
        )
        return [decode_task(fields, self._serializer) for fields in found]

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Delete terminal tasks that ended before ``cutoff``, with their index entries and
        idempotency keys; returns how many. Deletes in chunks, each one atomic."""
        connection = self._open()
        deleted = 0
        while True:
            count = int(
                await connection.scripts.delete_ended(
                    self._bookkeeping_keys,
                    [*self._bookkeeping_args, microseconds(cutoff), _DELETE_CHUNK],
                )
            )
            deleted += count
            if count < _DELETE_CHUNK:
                return deleted

    def _filter_groups(self, query: TaskQuery) -> list[list[str]] | None:
        """Index keys per filter: a task matches when it is in some key of every group.

        ``None`` when nothing can match (an empty set of statuses).
        """
        keys = self._keys
        groups: list[list[str]] = []
        if query.statuses is not None:
            if not query.statuses:
                return None
            if query.statuses == UNFINISHED_STATUSES:
                groups.append([keys.unfinished])
            else:
                groups.append(sorted(keys.by_status(status) for status in query.statuses))
        if query.func_name is not None:
            groups.append([keys.by_function(query.func_name)])
        if query.tag is not None:
            groups.append([keys.by_tag(*query.tag)])
        if query.source is not None:
            groups.append([keys.by_source(query.source)])
        if query.queue is not None:
            groups.append([keys.by_queue(query.queue)])
        for field in ORIGIN_FIELDS:
            value = getattr(query, field)
            if value is not None:
                groups.append([keys.by_origin(field, value)])
        return groups or [[keys.everything]]

    async def _scan(
        self,
        connection: _Connection,
        mode: str,
        groups: list[list[str]],
        high: str | bytes,
        low: str,
        *,
        want: int,
    ) -> tuple[bytes | None, list[Sequence[bytes | None]]]:
        reply = await connection.scripts.scan(
            [key for group in groups for key in group],
            [
                mode,
                self._keys.task_stem,
                ID_OFFSET,
                high,
                low,
                want,
                _SCAN_BUDGET,
                len(groups),
                *(len(group) for group in groups),
            ],
        )
        next_high, matches = reply
        return next_high, list(matches)

    # -- claims and idempotency ----------------------------------------------------------

    async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
        """Set the task's owner to ``owner`` if it is still ``expected_owner``, atomically."""
        connection = self._open()
        claimed = await connection.scripts.claim(
            [self._keys.task(task_id)],
            [owner, expected_owner or "", "1" if expected_owner is None else "0"],
        )
        return bool(claimed)

    async def claim_orphans(
        self, owner: str, live: frozenset[str], *, limit: int
    ) -> Sequence[TaskRecord]:
        """Take over unfinished tasks with no owner or a dead one, oldest first.

        The unfinished index is walked in chunks; each chunk is one script, which checks and
        sets the owner of each task, so concurrent sweepers never take the same task.
        """
        check_limit(limit)
        connection = self._open()
        taken: list[Sequence[bytes | None]] = []
        low: str | bytes = LOWEST
        while len(taken) < limit:
            next_low, records = await connection.scripts.claim_orphans(
                [self._keys.unfinished],
                [
                    owner,
                    self._keys.task_stem,
                    ID_OFFSET,
                    low,
                    _SCAN_BUDGET,
                    limit - len(taken),
                    *sorted(live),
                ],
            )
            taken.extend(records)
            if next_low is None:
                break
            low = next_low
        return [decode_task(fields, self._serializer) for fields in taken]

    async def reserve_idempotency_key(self, key: str, task_id: str) -> str:
        """Bind ``key`` to ``task_id`` unless a task that did not fail already holds it.

        One script reads the holder, looks at its stored status and rebinds the key, so of
        several racing clients exactly one gets it.
        """
        connection = self._open()
        holder = await connection.scripts.reserve_key(
            [self._keys.idempotency(key)],
            [task_id, key, self._keys.task_stem, self._keys.held_keys_stem, *_RELEASING],
        )
        return bytes(holder).decode()

    # -- schedules -----------------------------------------------------------------------

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        """Claim ``slot`` of ``entry`` unless it or a later slot was claimed; store ``record``.

        The slot and the record are written in one transaction, on the condition that the
        slots hash did not change since the stored slot was read (see :meth:`_claim_with`).
        """
        key = self._keys.schedule_slots
        wanted = microseconds(slot)

        async def free(pipe: Pipeline) -> bool:
            held = await pipe.hget(key, entry)
            return held is None or _decode_slot(cast(bytes, held))[0] < wanted

        def take(pipe: Pipeline) -> None:
            pipe.hset(key, entry, f"{wanted}|{record.task_id}")

        return await self._claim_with(key, free, take, record)

    async def last_slots(self, entries: Collection[str]) -> Mapping[str, SlotClaim]:
        """The latest claim of each of ``entries`` that has one."""
        names = list(entries)
        if not names:
            return {}
        values = await self._open().client.hmget(self._keys.schedule_slots, names)
        claims = {}
        for name, value in zip(names, values, strict=True):
            if value is not None:
                slot, task_id = _decode_slot(cast(bytes, value))
                claims[name] = SlotClaim(entry=name, slot=from_microseconds(slot), task_id=task_id)
        return claims

    async def save_one_off(self, run: ScheduledOnce) -> None:
        """Store ``run``, replacing the run with the same key (none of its fields survive).

        Raises:
            TypeError: its arguments cannot be serialized; nothing is written.
        """
        # A copy typed as redis-py wants it (its field type is a union, and dict keys are
        # invariant).
        fields: dict[FieldT, EncodableT] = dict(encode_one_off(run, self._serializer).items())
        key = self._keys.one_off(run.run_key)
        async with self._open().client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.zadd(self._keys.one_offs_due, {run.run_key: microseconds(run.run_at)})
            await pipe.execute()

    async def one_offs_due(self, before: datetime, *, limit: int) -> Sequence[ScheduledOnce]:
        """Stored runs due before ``before``, soonest first (then by key), read by one script."""
        check_limit(limit)
        connection = self._open()
        found = await connection.scripts.one_offs_due(
            [self._keys.one_offs_due],
            [self._keys.one_off_stem, microseconds(before), limit],
        )
        return [decode_one_off(fields, self._serializer) for fields in found]

    async def count_one_offs(self) -> int:
        """How many runs are stored."""
        return int(await self._open().client.zcard(self._keys.one_offs_due))

    async def delete_one_off(self, run_key: str) -> bool:
        """Remove the run stored under ``run_key``; False when there was none."""
        async with self._open().client.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.one_off(run_key))
            pipe.zrem(self._keys.one_offs_due, run_key)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        """Remove version ``token`` of run ``run_key`` and store ``record``, in one
        transaction conditional on the run's hash not changing since its token was read."""
        key = self._keys.one_off(run_key)
        expected = token.encode()

        async def current(pipe: Pipeline) -> bool:
            return bool(await pipe.hget(key, "token") == expected)

        def take(pipe: Pipeline) -> None:
            pipe.delete(key)
            pipe.zrem(self._keys.one_offs_due, run_key)

        return await self._claim_with(key, current, take, record)

    async def _claim_with(
        self,
        watched: str,
        allowed: Callable[[Pipeline], Awaitable[bool]],
        take: Callable[[Pipeline], None],
        record: TaskRecord,
    ) -> bool:
        """Queue ``take`` and the save of ``record`` in one MULTI/EXEC if ``allowed`` says so.

        ``allowed`` reads ``watched`` under WATCH, so the transaction only runs if nobody
        changed that key in between; when somebody did, it is read and decided again. A lost
        claim writes nothing. When redis-py resends an EXEC whose reply was lost, the second
        try finds the slot taken by this very claim: the stored record tells it so.

        Raises:
            TypeError: the record's arguments cannot be serialized; nothing is written.
        """
        connection = self._open()
        calls = self._save_calls([record])
        async with connection.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(watched)
                    if not await allowed(pipe):
                        # A claim repeated because its first answer was lost finds its own
                        # record stored, and has won.
                        return bool(await pipe.exists(self._keys.task(record.task_id)))
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    take(pipe)
                    await self._queue_saves(connection, pipe, calls)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    # -- instance leases -----------------------------------------------------------------

    # -- charts --------------------------------------------------------------------------

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """Finished tasks counted by end-time bucket and final status: the end-time set is
        walked over the window in chunks, each tallied by a script."""
        connection = self._open()
        start, stop = microseconds(window.start), microseconds(window.end)
        width = microseconds(window.start + window.bucket) - start
        buckets: list[dict[TaskStatus, int]] = [{} for _ in range(window.count)]
        low, skip = str(start), 0
        while True:
            visited, last, at_last, flat = await connection.scripts.activity(
                [self._keys.ended],
                [
                    self._keys.task_stem,
                    start,
                    width,
                    func_name or "",
                    stop,
                    low,
                    skip,
                    _ACTIVITY_CHUNK,
                ],
            )
            for key, count in zip(flat[::2], flat[1::2], strict=True):
                position, status_value = _text(key).split("|", 1)
                index, status = int(position), TaskStatus(status_value)
                if 0 <= index < window.count:
                    buckets[index][status] = buckets[index].get(status, 0) + int(count)
            if int(visited) < _ACTIVITY_CHUNK:
                return Activity(window=window, buckets=tuple(buckets))
            last_score = _text(last)
            # Members sharing the last score may continue in the next chunk.
            skip = skip + int(at_last) if last_score == low else int(at_last)
            low = last_score

    async def duration_histogram(self, func_name: str | None = None) -> DurationHistogram:
        """Durations binned by counting ranges of the duration sets."""
        connection = self._open()
        key = self._keys.durations if func_name is None else self._keys.durations_stem + func_name
        edges = [str(round(edge * 1_000_000)) for edge in DURATION_EDGES]
        lows = ["-inf", *edges]
        highs = [*("(" + edge for edge in edges), "+inf"]
        async with connection.client.pipeline(transaction=False) as pipe:
            for low, high in zip(lows, highs, strict=True):
                pipe.zcount(key, low, high)
            counts = await pipe.execute()
        return DurationHistogram(counts=tuple(int(count) for count in counts))

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        """Store ``entry`` and its place in the order, in one transaction."""
        connection = self._open()
        async with connection.client.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.audit_entries, entry.entry_id, dumps(audit_document(entry)))
            pipe.zadd(self._keys.audit_order, {member(entry.at, entry.entry_id): 0})
            await pipe.execute()

    async def audit_entries(
        self, query: AuditQuery, *, limit: int, cursor: Cursor | None = None
    ) -> AuditPage:
        """Matching entries, newest first, at most ``limit`` of them, after ``cursor``.

        Filters are checked per entry while walking the order down; a page stops after
        visiting a bounded number of entries, so it may hold fewer than ``limit`` entries and
        still carry a cursor.
        """
        check_limit(limit)
        connection = self._open()
        keys = self._keys
        high = HIGHEST if cursor is None else "(" + member(cursor.created_at, cursor.task_id)
        found: list[AuditEntry] = []
        visited = 0
        while True:
            members = await connection.client.zrevrangebylex(
                keys.audit_order, high, LOWEST, start=0, num=_AUDIT_CHUNK
            )
            if not members:
                return AuditPage(items=found)
            names = [_text(name) for name in members]
            ids = [name.split("|", 1)[1] for name in names]
            documents = await connection.client.hmget(keys.audit_entries, ids)
            for document in documents:
                visited += 1
                if document is None:
                    continue
                entry = audit_from_document(json.loads(document))
                if not query.matches(entry):
                    continue
                if len(found) == limit:
                    last = found[-1]
                    return AuditPage(
                        items=found, next_cursor=Cursor(last.at, last.entry_id).encode()
                    )
                found.append(entry)
            if len(members) < _AUDIT_CHUNK:
                return AuditPage(items=found)
            high = "(" + names[-1]
            if visited >= _AUDIT_BUDGET:
                # Continue from the last visited entry next time.
                stamp, entry_id = names[-1].split("|", 1)
                resume = Cursor(from_stamp(stamp), entry_id)
                return AuditPage(items=found, next_cursor=resume.encode())

    # -- queue settings ----------------------------------------------------------------

    async def save_queue_config(self, name: str, config: QueueConfig) -> None:
        """Store ``config`` as the limits of queue ``name``, replacing earlier ones."""
        await self._open().client.hset(
            self._keys.queue_configs, name, json.dumps(config.to_dict(), sort_keys=True)
        )

    async def queue_configs(self) -> Mapping[str, QueueConfig]:
        """Every stored queue's limits, by name."""
        stored = await self._open().client.hgetall(self._keys.queue_configs)
        found: dict[str, QueueConfig] = {}
        for raw_name, raw_value in stored.items():
            name = cast(bytes, raw_name).decode()
            try:
                fields = json.loads(raw_value)
            except ValueError:
                fields = {"concurrency": "unreadable"}
            config = stored_queue_config(name, fields if isinstance(fields, dict) else {})
            if config is not None:
                found[name] = config
        return found

    async def heartbeat(self, instance_id: str, now: datetime, ttl: float) -> None:
        """Record that ``instance_id`` is alive until ``now + ttl``; forget expired leases."""
        client = self._open().client
        until = microseconds(now + timedelta(seconds=ttl))
        async with client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._keys.leases, "-inf", microseconds(now))
            pipe.zadd(self._keys.leases, {instance_id: until})
            await pipe.execute()

    async def live_instances(self, now: datetime) -> frozenset[str]:
        """Instances whose lease has not expired at ``now``."""
        client = self._open().client
        names = await client.zrangebyscore(self._keys.leases, f"({microseconds(now)}", "+inf")
        return frozenset(cast(bytes, name).decode() for name in names)

    async def release_instance(self, instance_id: str) -> None:
        """Forget an instance on clean shutdown."""
        await self._open().client.zrem(self._keys.leases, instance_id)

    # -- locks -------------------------------------------------------------------------

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds (or extend it, when ``owner`` holds it)."""
        if ttl <= 0:
            raise ValueError(f"lock ttl must be > 0 seconds, got {ttl!r}")
        connection = self._open()
        milliseconds = max(1, math.ceil(ttl * 1000))
        taken = await connection.scripts.acquire_lock(
            [self._keys.lock(key)], [owner, milliseconds]
        )
        return bool(taken)

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` up; False when ``owner`` did not hold it (or it expired)."""
        connection = self._open()
        released = await connection.scripts.release_lock([self._keys.lock(key)], [owner])
        return bool(released)


def _decode_slot(value: bytes) -> tuple[int, str]:
    """The slot (in microseconds) and task id of a value of the slots hash."""
    slot, _, task_id = value.partition(b"|")
    return int(slot), task_id.decode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
