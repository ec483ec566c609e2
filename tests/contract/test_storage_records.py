"""Contract: records are saved, read back whole, filtered and paged the same in every store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def task(
    task_id: str, *, created: float = 0, func_name: str = "send_email", **fields: Any
) -> TaskRecord:
    return TaskRecord(task_id=task_id, func_name=func_name, created_at=at(created), **fields)


def fields(record: TaskRecord | None) -> dict[str, Any]:
    assert record is not None
    return attrs.asdict(record, recurse=False)


async def ids(storage: TaskStorage, query: TaskQuery, limit: int = 100) -> list[str]:
    page = await storage.query(query, limit=limit)
    return [record.task_id for record in page.items]


async def test_every_field_survives_a_save_and_get(storage: TaskStorage) -> None:
    record = task(
        "full",
        func_name="render_report",
        args=(42, ("nested", "tuple"), at(5), b"\x00bytes"),
        kwargs={"when": at(7), "ids": {1, 2}, "plain": [1, "two", None]},
        tags={"tenant": "acme", "kind": "pdf"},
        idempotency_key="report-42",
        priority=7,
        source="scheduled",
        executor=ExecutorKind.PROCESS,
        instance_id="instance-a",
        queue="reports",
        crash_reruns=2,
        timeout=12.5,
    )
    record.start(at(1))
    record.add_log("first line")
    record.add_log(record.begin_retry())
    record.fail(at(3), "boom", "Traceback (most recent call last): ...")

    await storage.save([record])

    stored = await storage.get("full")
    assert fields(stored) == fields(record)
    assert stored is not None
    for stamp in (stored.created_at, stored.start_time, stored.end_time):
        assert stamp is not None
        assert stamp.utcoffset() == timedelta(0)
    assert stored.duration == 120.0


async def test_the_attempt_timeout_is_stored_with_the_task(storage: TaskStorage) -> None:
    # A task recovered after a restart, or claimed by another instance, must keep its limit.
    limited = task("limited", timeout=0.25)
    unlimited = task("unlimited", created=1)
    await storage.save([limited, unlimited])

    stored = await storage.get("limited")
    assert stored is not None and stored.timeout == 0.25
    stored = await storage.get("unlimited")
    assert stored is not None and stored.timeout is None

    limited.start(at(2))
    await storage.save([limited])
    page = await storage.query(TaskQuery(), limit=10)
    assert {record.task_id: record.timeout for record in page.items} == {
        "limited": 0.25,
        "unlimited": None,
    }


async def test_timestamps_in_other_offsets_read_back_as_the_same_instant_in_utc(
    storage: TaskStorage,
) -> None:
    eastern = timezone(timedelta(hours=-5))
    record = TaskRecord(
        task_id="offset", func_name="f", created_at=datetime(2026, 1, 1, 7, 0, tzinfo=eastern)
    )

    await storage.save([record])

    stored = await storage.get("offset")
    assert stored is not None
    assert stored.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_encrypted_arguments_are_stored_only_as_the_token(storage: TaskStorage) -> None:
    record = task("secret", args=("card-number",), kwargs={"pin": 1234})
    record.encrypted_payload = b"gAAAAB-opaque-token"

    await storage.save([record])

    stored = await storage.get("secret")
    assert stored is not None
    assert stored.encrypted_payload == b"gAAAAB-opaque-token"
    assert stored.args == ()
    assert stored.kwargs == {}


async def test_saving_a_task_again_replaces_it(storage: TaskStorage) -> None:
    record = task("t1", tags={"stage": "new"})
    await storage.save([record])
    record.start(at(1))
    record.succeed(at(2))
    record.tags = {"stage": "done"}

    await storage.save([record])

    assert fields(await storage.get("t1")) == fields(record)
    assert await ids(storage, TaskQuery(tag=("stage", "new"))) == []
    assert await ids(storage, TaskQuery(tag=("stage", "done"))) == ["t1"]


async def test_a_batch_holding_one_task_twice_keeps_the_last_version(storage: TaskStorage) -> None:
    pending = task("t1")
    running = pending.copy()
    running.start(at(1))

    await storage.save([pending, running])

    stored = await storage.get("t1")
    assert stored is not None
    assert stored.status is TaskStatus.RUNNING


async def test_an_unknown_task_is_none(storage: TaskStorage) -> None:
    assert await storage.get("missing") is None


async def test_records_handed_in_and_out_are_independent_copies(storage: TaskStorage) -> None:
    record = task("t1", kwargs={"n": 1}, tags={"a": "1"})
    await storage.save([record])

    record.logs.append("changed after saving")
    record.tags["a"] = "2"
    first = await storage.get("t1")
    assert first is not None
    first.logs.append("changed after reading")
    first.kwargs["n"] = 2

    second = await storage.get("t1")
    assert second is not None
    assert second.logs == []
    assert second.tags == {"a": "1"}
    assert second.kwargs == {"n": 1}


async def test_queries_list_newest_first_and_break_ties_by_task_id(storage: TaskStorage) -> None:
    await storage.save([task("b", created=1), task("a", created=2), task("c", created=1)])

    assert await ids(storage, TaskQuery()) == ["a", "c", "b"]


@pytest.fixture
async def mixed(storage: TaskStorage) -> TaskStorage:
    done = task("done", created=1, func_name="resize", tags={"tenant": "acme"})
    done.start(at(1))
    done.succeed(at(2))
    failed = task("failed", created=2, tags={"tenant": "acme", "kind": "x"})
    failed.start(at(2))
    failed.fail(at(3), "boom")
    running = task("running", created=3, func_name="resize", source="scheduled")
    running.start(at(3))
    pending = task("pending", created=4, tags={"tenant": "other"}, queue="mail")
    await storage.save([done, failed, running, pending])
    return storage


def case(name: str, query: TaskQuery, expected: list[str]) -> Any:
    return pytest.param(query, expected, id=name)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        case("everything", TaskQuery(), ["pending", "running", "failed", "done"]),
        case(
            "statuses",
            TaskQuery(statuses=frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED})),
            ["failed", "done"],
        ),
        case("no-statuses", TaskQuery(statuses=frozenset()), []),
        case("func-name", TaskQuery(func_name="resize"), ["running", "done"]),
        case("tag", TaskQuery(tag=("tenant", "acme")), ["failed", "done"]),
        case("tag-value-unused", TaskQuery(tag=("tenant", "nobody")), []),
        case("second-tag", TaskQuery(tag=("kind", "x")), ["failed"]),
        case("created-after", TaskQuery(created_after=at(2)), ["pending", "running", "failed"]),
        case("created-before", TaskQuery(created_before=at(2)), ["done"]),
        case(
            "created-between",
            TaskQuery(created_after=at(2), created_before=at(4)),
            ["running", "failed"],
        ),
        case("source-scheduled", TaskQuery(source="scheduled"), ["running"]),
        case("source-manual", TaskQuery(source="manual"), ["pending", "failed", "done"]),
        case("queue", TaskQuery(queue="mail"), ["pending"]),
        case("default-queue", TaskQuery(queue="default"), ["running", "failed", "done"]),
        case("queue-unused", TaskQuery(queue="nothing-here"), []),
        case(
            "func-name-and-tag",
            TaskQuery(func_name="send_email", tag=("tenant", "acme")),
            ["failed"],
        ),
    ],
)
async def test_each_filter_narrows_the_result(
    mixed: TaskStorage, query: TaskQuery, expected: list[str]
) -> None:
    assert await ids(mixed, query) == expected


async def test_paging_visits_every_task_exactly_once_in_order(storage: TaskStorage) -> None:
    # Three tasks share each creation minute, so pages must break ties by task id.
    records = [task(f"task-{n:02d}", created=n // 3) for n in range(25)]
    await storage.save(records)
    expected = [r.task_id for r in sorted(records, key=lambda r: (r.created_at, r.task_id))]
    expected.reverse()

    seen: list[str] = []
    sizes: list[int] = []
    cursor: Cursor | None = None
    while True:
        page = await storage.query(TaskQuery(), limit=10, cursor=cursor)
        seen.extend(record.task_id for record in page.items)
        sizes.append(len(page.items))
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor)

    assert sizes == [10, 10, 5]
    assert seen == expected


async def test_a_page_that_ends_exactly_at_the_last_task_has_no_next_cursor(
    storage: TaskStorage,
) -> None:
    await storage.save([task(f"t{n:02d}", created=n) for n in range(20)])

    first = await storage.query(TaskQuery(), limit=10)
    assert first.next_cursor is not None
    second = await storage.query(TaskQuery(), limit=10, cursor=Cursor.decode(first.next_cursor))

    assert len(second.items) == 10
    assert second.next_cursor is None


async def test_paging_keeps_the_filter(mixed: TaskStorage) -> None:
    query = TaskQuery(tag=("tenant", "acme"))
    first = await mixed.query(query, limit=1)
    assert first.next_cursor is not None

    second = await mixed.query(query, limit=1, cursor=Cursor.decode(first.next_cursor))

    assert [r.task_id for r in [*first.items, *second.items]] == ["failed", "done"]
    assert second.next_cursor is None


async def test_a_page_size_below_one_is_refused(storage: TaskStorage) -> None:
    with pytest.raises(ValueError, match="limit"):
        await storage.query(TaskQuery(), limit=0)
