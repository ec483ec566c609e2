"""The Redis store's own promises: schema versioning, bounded bookkeeping, and indexes that
answer exactly as the in-memory store does, also past the size of one scan chunk."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis.asyncio as aioredis

from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage import redis_store
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.adapters.storage.redis_schema import SCHEMA_VERSION
from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage
from fastapi_taskflow.adapters.storage.schema_errors import SchemaTooNew
from fastapi_taskflow.domain.metrics import DurationStats
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

StoreFactory = Callable[[], Awaitable[RedisTaskStorage]]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
async def admin(redis_url: str, redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client of the server; deletes every key under the test's prefix at the end."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def open_store(
    redis_url: str, redis_prefix: str, admin: aioredis.Redis
) -> AsyncIterator[StoreFactory]:
    """Opens clients of one store under the test's prefix; closes them at the end."""
    opened: list[RedisTaskStorage] = []

    async def make() -> RedisTaskStorage:
        store = RedisTaskStorage(redis_url, serializer=TaggedJsonSerializer(), prefix=redis_prefix)
        await store.open()
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            await store.close()


async def keys_under(admin: aioredis.Redis, prefix: str) -> set[str]:
    return {key.decode() async for key in admin.scan_iter(match=f"{prefix}:*", count=1000)}


# -- schema version ----------------------------------------------------------------------------


async def test_a_new_store_records_the_current_schema_version(
    open_store: StoreFactory, admin: aioredis.Redis, redis_prefix: str
) -> None:
    await open_store()

    assert await admin.get(f"{redis_prefix}:schema") == b"1"
    assert SCHEMA_VERSION == 1


async def test_reopening_a_store_keeps_its_version_and_data(
    open_store: StoreFactory, admin: aioredis.Redis, redis_prefix: str
) -> None:
    first = await open_store()
    await first.save([TaskRecord(task_id="kept", func_name="f", created_at=T0)])
    await first.close()

    second = await open_store()

    assert await second.get("kept") is not None
    assert await admin.get(f"{redis_prefix}:schema") == b"1"


async def test_a_store_written_by_a_newer_release_is_refused(
    open_store: StoreFactory, admin: aioredis.Redis, redis_prefix: str
) -> None:
    await admin.set(f"{redis_prefix}:schema", SCHEMA_VERSION + 1)

    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}"):
        await open_store()


async def test_a_prefix_used_by_something_else_is_refused(
    open_store: StoreFactory, admin: aioredis.Redis, redis_prefix: str
) -> None:
    await admin.set(f"{redis_prefix}:schema", "not-a-version")

    with pytest.raises(ValueError, match="schema version"):
        await open_store()


def test_nothing_connects_before_open() -> None:
    # Port 1 refuses connections: a store that connected here would fail.
    store = RedisTaskStorage("redis://127.0.0.1:1/0", serializer=TaggedJsonSerializer())

    assert store.durable is True


async def test_a_closed_store_refuses_to_work(redis_url: str) -> None:
    store = RedisTaskStorage(redis_url, serializer=TaggedJsonSerializer(), prefix="unused")

    with pytest.raises(RuntimeError, match="open"):
        await store.get("any")


# -- writes ------------------------------------------------------------------------------------


class _Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("not today")


async def test_arguments_that_cannot_be_stored_fail_the_save_and_write_nothing(
    open_store: StoreFactory,
) -> None:
    store = await open_store()
    good = TaskRecord(task_id="good", func_name="f", created_at=T0)
    bad = TaskRecord(task_id="bad", func_name="f", created_at=T0, args=(_Unpicklable(),))

    with pytest.raises(TypeError, match="_Unpicklable"):
        await store.save([good, bad])

    assert await store.get("good") is None


async def test_a_batch_bigger_than_one_script_call_is_saved_whole(
    open_store: StoreFactory,
) -> None:
    store = await open_store()
    records = [
        TaskRecord(task_id=f"t{n:04d}", func_name="f", created_at=at(n)) for n in range(450)
    ]

    await store.save(records)

    page = await store.query(TaskQuery(), limit=1000)
    assert [r.task_id for r in page.items] == [r.task_id for r in reversed(records)]
    metrics = await store.metrics(TaskQuery())
    assert dict(metrics.counts) == {TaskStatus.PENDING: 450}


async def test_once_every_task_is_pruned_no_bookkeeping_is_left_behind(
    open_store: StoreFactory, admin: aioredis.Redis, redis_prefix: str
) -> None:
    store = await open_store()
    records = [finished(f"t{n}", f"func-{n % 3}", n, tags={"n": str(n)}) for n in range(700)]
    await store.save(records)
    await store.reserve_idempotency_key("order-1", "t1")

    assert await store.delete_finished_before(at(10_000)) == 700

    assert await keys_under(admin, redis_prefix) == {f"{redis_prefix}:schema"}
    assert await store.metrics(TaskQuery()) == await MemoryTaskStorage().metrics(TaskQuery())


# -- answers match the in-memory store ---------------------------------------------------------


def finished(
    task_id: str, func_name: str, created: float, *, tags: dict[str, str] | None = None
) -> TaskRecord:
    record = TaskRecord(task_id=task_id, func_name=func_name, created_at=at(created))
    record.tags = dict(tags or {})
    record.start(at(created))
    record.succeed(at(created + 1 + created % 7))
    return record


def random_history(rng: random.Random, count: int) -> list[TaskRecord]:
    """Tasks in every status, over a few functions, queues, sources and tags."""
    records = []
    for n in range(count):
        record = TaskRecord(
            task_id=f"task-{rng.randrange(10**6):06d}-{n}",
            func_name=rng.choice(["send_email", "resize", "report"]),
            # Several tasks share each creation time, so ties are broken by task id.
            created_at=at(rng.randrange(count // 3 + 1)),
            queue=rng.choice(["default", "default", "mail"]),
            source=rng.choice(["manual", "manual", "scheduled"]),
            tags={"tenant": rng.choice(["acme", "globex", "initech"])}
            if rng.random() < 0.7
            else {},
        )
        outcome = rng.randrange(6)
        if outcome > 0:
            record.start(record.created_at)
            end = record.created_at + timedelta(microseconds=rng.randrange(1, 50_000_000))
            if outcome == 2:
                record.succeed(end)
            elif outcome == 3:
                record.fail(end, "boom")
            elif outcome == 4:
                record.interrupt(end)
            elif outcome == 5:
                record.cancel(end)
        records.append(record)
    return records


def changed(rng: random.Random, records: list[TaskRecord]) -> list[TaskRecord]:
    """Some of the tasks again, moved on or retagged, as later saves carry them."""
    later = []
    for record in rng.sample(records, len(records) // 3):
        again = record.copy()
        if again.status is TaskStatus.PENDING:
            again.start(again.created_at + timedelta(seconds=1))
        elif again.status is TaskStatus.RUNNING:
            again.succeed(again.created_at + timedelta(seconds=rng.randrange(1, 90)))
        again.tags = {"tenant": "moved"} if rng.random() < 0.5 else {}
        again.queue = rng.choice(["default", "mail", "bulk"])
        later.append(again)
    return later


QUERIES = [
    TaskQuery(),
    TaskQuery(statuses=frozenset({TaskStatus.SUCCESS})),
    TaskQuery(statuses=frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})),
    TaskQuery(statuses=frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.CANCELLED})),
    TaskQuery(func_name="resize"),
    TaskQuery(func_name="report", statuses=frozenset({TaskStatus.FAILED})),
    TaskQuery(tag=("tenant", "acme")),
    TaskQuery(tag=("tenant", "moved"), queue="mail"),
    TaskQuery(source="scheduled", func_name="send_email"),
    TaskQuery(queue="bulk"),
    TaskQuery(created_after=at(100), created_before=at(300)),
    TaskQuery(created_after=at(50), statuses=frozenset({TaskStatus.INTERRUPTED})),
    TaskQuery(func_name="no-such-function"),
]


async def all_pages(storage: TaskStorage, query: TaskQuery, limit: int) -> list[str]:
    seen: list[str] = []
    cursor: Cursor | None = None
    while True:
        page = await storage.query(query, limit=limit, cursor=cursor)
        seen.extend(record.task_id for record in page.items)
        if page.next_cursor is None:
            return seen
        cursor = Cursor.decode(page.next_cursor)


def same_metrics(actual: Any, expected: Any) -> None:
    assert dict(actual.counts) == dict(expected.counts)
    same_durations(actual.durations, expected.durations)
    assert [f.func_name for f in actual.functions] == [f.func_name for f in expected.functions]
    for mine, theirs in zip(actual.functions, expected.functions, strict=True):
        assert dict(mine.counts) == dict(theirs.counts)
        same_durations(mine.durations, theirs.durations)


def same_durations(actual: DurationStats, expected: DurationStats) -> None:
    assert actual.count == expected.count
    assert actual.avg == pytest.approx(expected.avg)
    assert (actual.min, actual.max, actual.p95) == (expected.min, expected.max, expected.p95)


@pytest.mark.parametrize("chunk", [None, 7], ids=["default-chunks", "tiny-chunks"])
async def test_a_long_history_is_queried_paged_and_measured_as_in_memory(
    open_store: StoreFactory, monkeypatch: pytest.MonkeyPatch, chunk: int | None
) -> None:
    # 1500 tasks: more than one scan chunk per index, so walks continue across script calls
    # (with tiny chunks, every walk and every merge of several status indexes does, often).
    if chunk is not None:
        monkeypatch.setattr(redis_store, "_SCAN_BUDGET", chunk)
    rng = random.Random(20260101)
    store = await open_store()
    memory = MemoryTaskStorage(max_finished=10**6)
    records = random_history(rng, 1500)
    for batch in (records, changed(rng, records)):
        await store.save(batch)
        await memory.save(batch)
    cutoff = at(250)
    assert await store.delete_finished_before(cutoff) == await memory.delete_finished_before(
        cutoff
    )

    for query in QUERIES:
        assert await all_pages(store, query, 97) == await all_pages(memory, query, 1000), query
        same_metrics(await store.metrics(query), await memory.metrics(query))
    assert [r.task_id for r in await store.unfinished(limit=40)] == [
        r.task_id for r in await memory.unfinished(limit=40)
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 19, 20, 21, 39, 40, 41, 99, 100, 101])
async def test_the_percentile_of_the_counters_is_the_nearest_rank(
    open_store: StoreFactory, count: int
) -> None:
    store = await open_store()
    await store.save([finished(f"t{n}", "f", n) for n in range(count)])
    expected = DurationStats.of([float(1 + n % 7) for n in range(count)])

    unfiltered = await store.metrics(TaskQuery())
    one_function = await store.metrics(TaskQuery(func_name="f"))
    filtered = await store.metrics(TaskQuery(statuses=frozenset({TaskStatus.SUCCESS})))

    for metrics in (unfiltered, one_function, filtered):
        same_durations(metrics.durations, expected)
        same_durations(metrics.functions[0].durations, expected)


# -- claims ------------------------------------------------------------------------------------


async def test_live_survivors_sweeping_together_split_the_orphans_without_overlap(
    open_store: StoreFactory,
) -> None:
    # More orphans than one scan chunk, taken by six sweepers of two live instances.
    first, second = await open_store(), await open_store()
    orphans = [
        TaskRecord(task_id=f"orphan-{n:04d}", func_name="f", created_at=at(n), instance_id="dead")
        for n in range(1200)
    ]
    await first.save(orphans)
    survivors = frozenset({"survivor-a", "survivor-b"})

    async def sweep(client: TaskStorage, owner: str) -> list[tuple[str, str]]:
        taken: list[tuple[str, str]] = []
        while batch := await client.claim_orphans(owner, survivors, limit=70):
            assert all(record.instance_id == owner for record in batch)
            taken.extend((record.task_id, owner) for record in batch)
        return taken

    results = await asyncio.gather(
        *(
            sweep(client, owner)
            for client, owner in [(first, "survivor-a"), (second, "survivor-b")] * 3
        )
    )

    taken = [pair for result in results for pair in result]
    assert sorted(task_id for task_id, _ in taken) == [r.task_id for r in orphans]
    for task_id, owner in taken:
        stored = await second.get(task_id)
        assert stored is not None and stored.instance_id == owner


async def test_orphans_behind_many_live_tasks_are_still_found(open_store: StoreFactory) -> None:
    store = await open_store()
    alive = [
        TaskRecord(task_id=f"alive-{n:04d}", func_name="f", created_at=at(n), instance_id="a")
        for n in range(1100)
    ]
    orphan = TaskRecord(task_id="orphan", func_name="f", created_at=at(5000), instance_id="dead")
    await store.save([*alive, orphan])

    claimed = await store.claim_orphans("me", frozenset({"a"}), limit=10)

    assert [record.task_id for record in claimed] == ["orphan"]
