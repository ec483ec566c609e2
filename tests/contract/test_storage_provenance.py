"""Contract: every store keeps the request that enqueued a task, and filters by it alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

CHECKOUT = Provenance(
    route="/orders/{order_id}",
    method="POST",
    request_id="req-1",
    principal="alice",
    trace_parent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def task(task_id: str, created: float, provenance: Provenance | None, **fields: Any) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        func_name="send_email",
        created_at=at(created),
        provenance=provenance,
        **fields,
    )


async def ids(storage: TaskStorage, query: TaskQuery) -> list[str]:
    page = await storage.query(query, limit=100)
    return [record.task_id for record in page.items]


async def test_provenance_survives_a_save_and_get(storage: TaskStorage) -> None:
    await storage.save([task("t", 0, CHECKOUT)])

    stored = await storage.get("t")

    assert stored is not None
    assert stored.provenance == CHECKOUT


async def test_a_task_without_provenance_reads_back_without_it(storage: TaskStorage) -> None:
    await storage.save([task("t", 0, None)])

    stored = await storage.get("t")

    assert stored is not None
    assert stored.provenance is None
    assert stored.to_dict()["provenance"] is None


async def test_a_partly_known_provenance_keeps_its_unknown_fields_empty(
    storage: TaskStorage,
) -> None:
    # A script run without a request but inside a trace knows only the trace parent.
    traced = Provenance(trace_parent=CHECKOUT.trace_parent)
    anonymous = Provenance(route="/signup", method="POST", request_id="r")
    await storage.save([task("traced", 0, traced), task("anonymous", 1, anonymous)])

    traced_back = await storage.get("traced")
    assert traced_back is not None and traced_back.provenance == traced
    stored = await storage.get("anonymous")
    assert stored is not None and stored.provenance == anonymous
    assert stored.provenance.principal is None


async def test_provenance_is_kept_when_the_task_changes(storage: TaskStorage) -> None:
    record = task("t", 0, CHECKOUT)
    await storage.save([record])
    record.start(at(1))
    record.succeed(at(2))
    await storage.save([record])

    stored = await storage.get("t")

    assert stored is not None
    assert (stored.status, stored.provenance) == (TaskStatus.SUCCESS, CHECKOUT)
    assert await ids(storage, TaskQuery(request_id="req-1")) == ["t"]


@pytest.fixture
async def origins(storage: TaskStorage) -> TaskStorage:
    """Tasks of three requests, of two users, and one enqueued outside any request."""
    other_order = Provenance(
        route="/orders/{order_id}", method="DELETE", request_id="req-2", principal="bob"
    )
    signup = Provenance(route="/signup", method="POST", request_id="req-3")
    done = task("a-done", 1, CHECKOUT)
    done.start(at(1))
    done.succeed(at(2))
    await storage.save(
        [
            done,
            task("b-pending", 2, CHECKOUT),
            task("c-delete", 3, other_order),
            task("d-signup", 4, signup),
            task("e-startup", 5, None),
        ]
    )
    return storage


def case(name: str, query: TaskQuery, expected: list[str]) -> Any:
    return pytest.param(query, expected, id=name)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        case("route", TaskQuery(route="/orders/{order_id}"), ["c-delete", "b-pending", "a-done"]),
        case("other-route", TaskQuery(route="/signup"), ["d-signup"]),
        case("raw-path-is-not-the-template", TaskQuery(route="/orders/7"), []),
        case("route-is-case-sensitive", TaskQuery(route="/Signup"), []),
        case("method", TaskQuery(method="POST"), ["d-signup", "b-pending", "a-done"]),
        case("method-is-exact", TaskQuery(method="post"), []),
        case("request-id", TaskQuery(request_id="req-1"), ["b-pending", "a-done"]),
        case("request-id-unused", TaskQuery(request_id="req-9"), []),
        case("principal", TaskQuery(principal="bob"), ["c-delete"]),
        case("principal-is-case-sensitive", TaskQuery(principal="Alice"), []),
        case(
            "route-and-method",
            TaskQuery(route="/orders/{order_id}", method="POST"),
            ["b-pending", "a-done"],
        ),
        case(
            "request-and-status",
            TaskQuery(request_id="req-1", statuses=frozenset({TaskStatus.PENDING})),
            ["b-pending"],
        ),
        case("principal-and-other-request", TaskQuery(principal="alice", request_id="req-2"), []),
        case(
            "method-and-creation-window",
            TaskQuery(method="POST", created_after=at(2), created_before=at(4)),
            ["b-pending"],
        ),
    ],
)
async def test_each_provenance_filter_narrows_the_result(
    origins: TaskStorage, query: TaskQuery, expected: list[str]
) -> None:
    assert await ids(origins, query) == expected


async def test_paging_keeps_a_provenance_filter(origins: TaskStorage) -> None:
    query = TaskQuery(route="/orders/{order_id}")
    first = await origins.query(query, limit=2)
    assert first.next_cursor is not None

    second = await origins.query(query, limit=2, cursor=Cursor.decode(first.next_cursor))

    listed = [record.task_id for record in [*first.items, *second.items]]
    assert listed == ["c-delete", "b-pending", "a-done"]
    assert second.next_cursor is None


async def test_metrics_can_be_narrowed_to_one_request(origins: TaskStorage) -> None:
    metrics = await origins.metrics(TaskQuery(request_id="req-1"))

    assert metrics.counts.get(TaskStatus.SUCCESS, 0) == 1
    assert metrics.counts.get(TaskStatus.PENDING, 0) == 1
    assert sum(metrics.counts.values()) == 2


async def test_values_beyond_ascii_are_stored_and_matched_exactly(storage: TaskStorage) -> None:
    accented = Provenance(route="/café/{name}", method="PUT", request_id="ид-1", principal="zoë")
    await storage.save([task("t", 0, accented), task("u", 1, Provenance(principal="zoe"))])

    stored = await storage.get("t")

    assert stored is not None and stored.provenance == accented
    assert await ids(storage, TaskQuery(principal="zoë")) == ["t"]
    assert await ids(storage, TaskQuery(route="/café/{name}", request_id="ид-1")) == ["t"]


async def test_deleted_history_leaves_nothing_behind_for_the_filters(
    origins: TaskStorage,
) -> None:
    deleted = await origins.delete_finished_before(at(10))

    assert deleted == 1
    assert await ids(origins, TaskQuery(request_id="req-1")) == ["b-pending"]
    assert await ids(origins, TaskQuery(principal="alice")) == ["b-pending"]


async def test_provenance_is_read_back_by_another_client(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save([task("t", 0, CHECKOUT)])

    stored = await peer.get("t")

    assert stored is not None and stored.provenance == CHECKOUT
    assert await ids(peer, TaskQuery(principal="alice", method="POST")) == ["t"]
