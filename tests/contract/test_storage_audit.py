"""Contract: the audit trail keeps entries whole, lists them newest first with filters and
cursors, shares them between clients, and retry links survive a round trip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditQuery
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskStorage

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entry(
    entry_id: str,
    minute: float,
    action: AuditAction = AuditAction.RETRY,
    *,
    actor: str | None = "alice",
    task_ids: tuple[str, ...] = (),
) -> AuditEntry:
    return AuditEntry(
        entry_id=entry_id,
        at=T0 + timedelta(minutes=minute),
        actor=actor,
        action=action,
        task_ids=task_ids,
        detail={"retried_as": f"new-{entry_id}", "nested": {"ü": [1, 2.5, None]}},
    )


async def all_pages(storage: TaskStorage, query: AuditQuery, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await storage.audit_entries(query, limit=limit, cursor=cursor)
        ids.extend(item.entry_id for item in page.items)
        if page.next_cursor is None:
            return ids
        cursor = Cursor.decode(page.next_cursor)


async def test_an_entry_reads_back_whole(storage: TaskStorage) -> None:
    written = entry("e1", 0, AuditAction.REPLAY, task_ids=("t1", "t2"))
    await storage.append_audit(written)

    page = await storage.audit_entries(AuditQuery(), limit=10)
    assert page.items == [written]
    assert page.next_cursor is None


async def test_entries_come_newest_first_across_pages(storage: TaskStorage) -> None:
    # Two entries share an instant: the id breaks the tie, in both orders of writing.
    for item in [entry("b", 1), entry("a", 0), entry("d", 2), entry("c", 2), entry("e", 3)]:
        await storage.append_audit(item)

    assert await all_pages(storage, AuditQuery(), limit=2) == ["e", "d", "c", "b", "a"]
    assert await all_pages(storage, AuditQuery(), limit=10) == ["e", "d", "c", "b", "a"]


async def test_filters_narrow_the_entries(storage: TaskStorage) -> None:
    await storage.append_audit(entry("1", 0, AuditAction.RETRY, task_ids=("task_1",)))
    await storage.append_audit(entry("2", 1, AuditAction.CANCEL, actor="bob", task_ids=("t%",)))
    await storage.append_audit(entry("3", 2, AuditAction.LOGIN, actor=None))
    await storage.append_audit(entry("4", 3, AuditAction.RETRY, task_ids=("taskX1", "t%")))

    assert await all_pages(storage, AuditQuery(action=AuditAction.RETRY), 1) == ["4", "1"]
    assert await all_pages(storage, AuditQuery(actor="bob"), 10) == ["2"]
    # Ids are matched whole: neither "_" nor "%" acts as a wildcard.
    assert await all_pages(storage, AuditQuery(task_id="task_1"), 10) == ["1"]
    assert await all_pages(storage, AuditQuery(task_id="t%"), 10) == ["4", "2"]
    assert await all_pages(storage, AuditQuery(task_id="t"), 10) == []
    both = AuditQuery(action=AuditAction.RETRY, task_id="t%")
    assert await all_pages(storage, both, 10) == ["4"]


async def test_another_client_sees_the_entries(storage: TaskStorage, peer: TaskStorage) -> None:
    await storage.append_audit(entry("shared", 0))

    page = await peer.audit_entries(AuditQuery(), limit=10)
    assert [item.entry_id for item in page.items] == ["shared"]


async def test_retry_links_survive_a_round_trip(
    storage: TaskStorage, restart: Callable[[], Awaitable[TaskStorage]]
) -> None:
    original = TaskRecord(task_id="old", func_name="f", created_at=T0, retried_as="new")
    retry = TaskRecord(task_id="new", func_name="f", created_at=T0, retried_from="old")
    await storage.save([original, retry])

    # Stores that live in the process have no restart to survive; they still round-trip.
    reopened = await restart() if storage.durable else storage
    stored_old, stored_new = await reopened.get("old"), await reopened.get("new")
    assert stored_old is not None and stored_new is not None
    assert (stored_old.retried_as, stored_old.retried_from) == ("new", None)
    assert (stored_new.retried_from, stored_new.retried_as) == ("old", None)


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_page_needs_a_positive_limit(storage: TaskStorage, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await storage.audit_entries(AuditQuery(), limit=limit)
