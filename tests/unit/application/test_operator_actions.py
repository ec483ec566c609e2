"""Operator commands: retry, replay, bulk and window retries, cancel and history deletion,
each audited; on the fake clock and memory storage."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from fastapi_taskflow.application.task_retries import ReplayEdits, RetryOutcome
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.errors import (
    AlreadyRetried,
    FunctionNotRegistered,
    InvalidReplay,
    InvalidTransition,
    NotRetryable,
    TaskNotFound,
)
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditQuery

from .conftest import Harness

calls: list[tuple[str, object]] = []


def flaky(address: str, *, attempt: int = 0) -> None:
    calls.append((address, attempt))
    if attempt == 0:
        raise ConnectionError(f"mail server refused {address}")


def fine() -> None:
    return None


@pytest.fixture
async def ops(make_harness: Callable[..., Awaitable[Harness]]) -> Harness:
    calls.clear()
    harness = await make_harness()
    harness.register(flaky)
    harness.register(fine)
    return harness


async def failed_task(harness: Harness, address: str = "a@example.com") -> TaskRecord:
    record = await harness.run(flaky, address)
    assert record.status is TaskStatus.FAILED
    return record


async def audit_actions(harness: Harness) -> list[tuple[AuditAction, str | None]]:
    page = await harness.service.operator.audit.page(AuditQuery(), limit=100)
    return [(entry.action, entry.actor) for entry in reversed(page.items)]


async def test_a_retry_runs_the_task_again_and_links_both_ways(ops: Harness) -> None:
    original = await failed_task(ops)

    retried = await ops.service.operator.retry(
        original.task_id, actor="alice", arguments_visible=False
    )
    await ops.idle()

    new = ops.record(retried.task.task_id)
    assert new.task_id != original.task_id
    assert (new.retried_from, ops.record(original.task_id).retried_as) == (
        original.task_id,
        new.task_id,
    )
    # The failure is kept as it was: status, error and stacktrace.
    assert original.status is TaskStatus.FAILED
    assert original.error is not None and "refused" in original.error
    assert new.status is TaskStatus.FAILED  # same arguments, same outcome
    assert calls == [("a@example.com", 0), ("a@example.com", 0)]
    stored = await ops.storage.get(original.task_id)
    assert stored is not None and stored.retried_as == new.task_id
    assert await audit_actions(ops) == [(AuditAction.RETRY, "alice")]


async def test_a_task_is_retried_once_then_its_retry_is_the_one_to_retry(ops: Harness) -> None:
    original = await failed_task(ops)
    first = await ops.service.operator.retry(original.task_id, actor=None, arguments_visible=True)
    await ops.idle()

    with pytest.raises(AlreadyRetried) as raised:
        await ops.service.operator.retry(original.task_id, actor=None, arguments_visible=True)
    assert raised.value.retried_as == first.task.task_id

    second = await ops.service.operator.retry(
        first.task.task_id, actor=None, arguments_visible=True
    )
    assert second.task.retried_from == first.task.task_id


async def test_a_retry_already_stored_by_another_instance_is_refused(ops: Harness) -> None:
    original = await failed_task(ops)
    await ops.service.flush()
    # Another instance retried it: only the stored record knows.
    stored = await ops.storage.get(original.task_id)
    assert stored is not None
    stored.retried_as = "elsewhere"
    await ops.storage.save([stored])

    with pytest.raises(AlreadyRetried, match="elsewhere"):
        await ops.service.operator.retry(original.task_id, actor=None, arguments_visible=True)


async def test_replay_with_edited_kwargs_and_tags_audits_the_diff(ops: Harness) -> None:
    original = await failed_task(ops)

    retried = await ops.service.operator.retry(
        original.task_id,
        ReplayEdits(kwargs={"attempt": 1}, tags={"ticket": "OPS-7"}),
        actor="alice",
        arguments_visible=True,
    )
    await ops.idle()

    new = ops.record(retried.task.task_id)
    assert new.status is TaskStatus.SUCCESS
    assert (new.args, new.kwargs, new.tags) == (
        ("a@example.com",),
        {"attempt": 1},
        {"ticket": "OPS-7"},
    )
    page = await ops.service.operator.audit.page(AuditQuery(action=AuditAction.REPLAY), limit=5)
    [entry] = page.items
    assert entry.actor == "alice" and entry.task_ids == (original.task_id,)
    assert entry.detail == {
        "retried_as": new.task_id,
        "changes": {"kwargs": {"added": {"attempt": 1}}, "tags": {"added": {"ticket": "OPS-7"}}},
    }


async def test_kwargs_cannot_be_edited_where_arguments_are_hidden(ops: Harness) -> None:
    original = await failed_task(ops)

    with pytest.raises(InvalidReplay, match="display_func_args"):
        await ops.service.operator.retry(
            original.task_id, ReplayEdits(kwargs={}), actor=None, arguments_visible=False
        )
    assert ops.record(original.task_id).retried_as is None
    assert await audit_actions(ops) == []


async def test_kwargs_of_an_encrypted_task_cannot_be_edited(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    from cryptography.fernet import Fernet

    harness = await make_harness(encrypt_args_key=Fernet.generate_key())
    harness.register(flaky)
    original = await failed_task(harness)

    with pytest.raises(InvalidReplay, match="encrypted"):
        await harness.service.operator.retry(
            original.task_id,
            ReplayEdits(kwargs={"attempt": 1}),
            actor=None,
            arguments_visible=True,
        )
    # A plain retry passes the sealed arguments on, and they still open.
    retried = await harness.service.operator.retry(
        original.task_id, actor=None, arguments_visible=True
    )
    await harness.idle()
    assert retried.task.encrypted_payload == original.encrypted_payload
    assert harness.record(retried.task.task_id).status is TaskStatus.FAILED
    assert calls[-1] == ("a@example.com", 0)


async def test_bad_tags_are_refused_before_anything_happens() -> None:
    with pytest.raises(ValueError, match="tags"):
        ReplayEdits(tags={"ticket": 7})  # type: ignore[dict-item]


async def test_tasks_that_did_not_end_badly_are_not_retried(ops: Harness) -> None:
    done = await ops.run(fine)
    with pytest.raises(NotRetryable, match="success"):
        await ops.service.operator.retry(done.task_id, actor=None, arguments_visible=True)
    with pytest.raises(TaskNotFound):
        await ops.service.operator.retry("nope", actor=None, arguments_visible=True)


async def test_a_function_no_longer_registered_cannot_be_retried(ops: Harness) -> None:
    orphan = TaskRecord(task_id="gone", func_name="removed_job", created_at=ops.clock.now())
    orphan.start(ops.clock.now())
    orphan.fail(ops.clock.now(), "boom")
    await ops.storage.save([orphan])

    with pytest.raises(FunctionNotRegistered, match="removed_job"):
        await ops.service.operator.retry("gone", actor=None, arguments_visible=True)


async def test_bulk_retry_reports_every_task(ops: Harness) -> None:
    first, second = await failed_task(ops, "a@x"), await failed_task(ops, "b@x")
    done = await ops.run(fine)
    await ops.service.operator.retry(second.task_id, actor=None, arguments_visible=True)

    outcome = await ops.service.operator.retry_many(
        [first.task_id, second.task_id, done.task_id, "missing", first.task_id], actor="bob"
    )
    await ops.idle()

    by_id = {result.task_id: result for result in outcome.results}
    assert [result.task_id for result in outcome.results] == [
        first.task_id,
        second.task_id,
        done.task_id,
        "missing",
    ]
    assert by_id[first.task_id].outcome is RetryOutcome.DISPATCHED
    assert by_id[second.task_id].outcome is RetryOutcome.ALREADY_RETRIED
    assert by_id[second.task_id].new_task_id == ops.record(second.task_id).retried_as
    assert by_id[done.task_id].outcome is RetryOutcome.NOT_RETRYABLE
    assert by_id["missing"].outcome is RetryOutcome.NOT_FOUND
    assert (outcome.dispatched, outcome.skipped) == (1, 3)
    page = await ops.service.operator.audit.page(
        AuditQuery(action=AuditAction.BULK_RETRY), limit=5
    )
    [entry] = page.items
    assert entry.actor == "bob" and entry.task_ids == (first.task_id,)
    assert entry.detail["skipped_by_reason"] == {
        "already_retried": 1,
        "not_retryable": 1,
        "not_found": 1,
    }


async def test_a_window_replays_each_dead_letter_once(ops: Harness) -> None:
    old = await failed_task(ops, "old@x")
    ops.clock.advance(3 * 3600)
    recent = [await failed_task(ops, f"{n}@x") for n in range(3)]
    interrupted = TaskRecord(task_id="cut", func_name="fine", created_at=ops.clock.now())
    interrupted.start(ops.clock.now())
    interrupted.interrupt(ops.clock.now())
    await ops.storage.save([interrupted])

    outcome = await ops.service.operator.retry_window(since=timedelta(hours=1), actor="carol")
    await ops.idle()

    dispatched = {r.task_id for r in outcome.results if r.outcome is RetryOutcome.DISPATCHED}
    assert dispatched == {record.task_id for record in recent} | {"cut"}
    assert ops.record(old.task_id).retried_as is None
    # The retries failed too, but they were created inside the window: a second replay
    # retries them once, never the originals again.
    again = await ops.service.operator.retry_window(since=timedelta(hours=1), actor="carol")
    await ops.idle()
    retried_ids = {r.task_id for r in again.results}
    assert retried_ids.isdisjoint(dispatched)
    assert len(retried_ids) == 3  # the three failed retries; the interrupted one succeeded
    window_only = await ops.service.operator.retry_window(
        since=None, func_name="flaky", statuses=[TaskStatus.FAILED], actor=None
    )
    assert {r.task_id for r in window_only.results} >= {old.task_id}


async def test_a_window_refuses_statuses_that_cannot_be_retried(ops: Harness) -> None:
    with pytest.raises(ValueError, match="statuses"):
        await ops.service.operator.retry_window(
            since=None, statuses=[TaskStatus.SUCCESS], actor=None
        )


async def test_cancel_is_audited_and_finished_tasks_refuse_it(ops: Harness) -> None:
    pending = ops.service.enqueue(fine, (), {})
    cancelled = await ops.service.operator.cancel(pending.task_id, actor="dave")
    assert cancelled.status is TaskStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        await ops.service.operator.cancel(pending.task_id, actor="dave")
    with pytest.raises(TaskNotFound):
        await ops.service.operator.cancel("nope", actor="dave")
    assert await audit_actions(ops) == [(AuditAction.CANCEL, "dave")]


async def test_history_deletion_spares_live_and_recent_tasks(ops: Harness) -> None:
    old = await ops.run(fine)
    ops.clock.advance(2 * 86400)
    recent = await ops.run(fine)
    waiting = ops.service.enqueue(fine, (), {})

    deleted = await ops.service.operator.delete_history(timedelta(days=1), actor="erin")

    assert deleted.deleted == 1
    assert deleted.cutoff == ops.clock.now() - timedelta(days=1)
    assert await ops.service.queries.get(old.task_id) is None
    assert await ops.service.queries.get(recent.task_id) is not None
    assert await ops.service.queries.get(waiting.task_id) is not None
    [entry] = (await ops.service.operator.audit.page(AuditQuery(), limit=5)).items
    assert (entry.action, entry.actor, entry.detail["deleted"]) == (
        AuditAction.DELETE_HISTORY,
        "erin",
        1,
    )


async def test_finished_tasks_are_read_as_storage_has_them(ops: Harness) -> None:
    original = await failed_task(ops)
    await ops.service.flush()
    stored = await ops.storage.get(original.task_id)
    assert stored is not None
    # Another instance retried the task, then history was deleted there.
    stored.retried_as = "elsewhere"
    await ops.storage.save([stored])

    seen = await ops.service.queries.get(original.task_id)
    assert seen is not None and seen.retried_as == "elsewhere"
    await ops.storage.delete_finished_before(ops.clock.now() + timedelta(seconds=1))
    assert await ops.service.queries.get(original.task_id) is None


def crunch(data: object) -> None:
    return None


async def test_a_task_whose_arguments_no_longer_fit_is_reported_not_raised(ops: Harness) -> None:
    # The function moved to worker processes since it ran; its stored argument cannot be
    # pickled for one.
    ops.register(crunch, executor="process")
    stuck = TaskRecord(
        task_id="stuck", func_name="crunch", args=(threading.Lock(),), created_at=ops.clock.now()
    )
    stuck.start(ops.clock.now())
    stuck.fail(ops.clock.now(), "boom")
    await ops.storage.save([stuck])
    other = await failed_task(ops)

    outcome = await ops.service.operator.retry_many(["stuck", other.task_id], actor=None)

    by_id = {result.task_id: result for result in outcome.results}
    assert by_id["stuck"].outcome is RetryOutcome.NOT_RETRYABLE
    assert by_id["stuck"].detail is not None and "positional argument 0" in by_id["stuck"].detail
    assert by_id[other.task_id].outcome is RetryOutcome.DISPATCHED


async def test_retries_record_the_request_that_asked_for_them(ops: Harness) -> None:
    asked = Provenance(route="/tasks/{task_id}/retry", method="POST", principal="alice")
    bulk = Provenance(route="/tasks/bulk-retry", method="POST", request_id="r-2")
    window = Provenance(route="/tasks/retry-failed", method="POST", request_id="r-3")
    first = await failed_task(ops, "first@example.com")

    one = await ops.service.operator.retry(
        first.task_id, actor="alice", arguments_visible=False, provenance=asked
    )
    await ops.idle()
    unasked = await ops.service.operator.retry(
        one.task.task_id, actor=None, arguments_visible=False
    )
    await ops.idle()
    second = await failed_task(ops, "second@example.com")
    many = await ops.service.operator.retry_many([second.task_id], actor=None, provenance=bulk)
    await ops.idle()
    third = await failed_task(ops, "third@example.com")
    swept = await ops.service.operator.retry_window(since=None, actor=None, provenance=window)
    await ops.idle()

    assert ops.record(one.task.task_id).provenance == asked
    assert ops.record(unasked.task.task_id).provenance is None
    (bulk_result,) = many.results
    assert bulk_result.new_task_id is not None
    assert ops.record(bulk_result.new_task_id).provenance == bulk
    assert third.task_id in [result.task_id for result in swept.results]
    for result in swept.results:
        assert result.new_task_id is not None
        assert ops.record(result.new_task_id).provenance == window
    # The originals keep what they had (here: enqueued outside a request).
    assert ops.record(first.task_id).provenance is None
