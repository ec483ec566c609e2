"""The task lifecycle: only legal status changes are possible."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastapi_taskflow.domain.errors import InvalidTransition
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.domain.transitions import ALLOWED_TRANSITIONS, is_allowed

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

#: How to reach each status from pending, by legal moves.
PATHS: dict[TaskStatus, list[Callable[[TaskRecord], object]]] = {
    TaskStatus.PENDING: [],
    TaskStatus.RUNNING: [lambda r: r.start(NOW)],
    TaskStatus.SUCCESS: [lambda r: r.start(NOW), lambda r: r.succeed(NOW)],
    TaskStatus.FAILED: [lambda r: r.start(NOW), lambda r: r.fail(NOW, "boom")],
    TaskStatus.INTERRUPTED: [lambda r: r.start(NOW), lambda r: r.interrupt(NOW)],
    TaskStatus.CANCELLED: [lambda r: r.cancel(NOW)],
    TaskStatus.REJECTED: [lambda r: r.reject(NOW, "queue full")],
}

#: The method that moves a record to each status.
MOVES: dict[TaskStatus, Callable[[TaskRecord], object]] = {
    TaskStatus.PENDING: lambda r: r.requeue(NOW),
    TaskStatus.RUNNING: lambda r: r.start(NOW),
    TaskStatus.SUCCESS: lambda r: r.succeed(NOW),
    TaskStatus.FAILED: lambda r: r.fail(NOW, "boom", "Traceback ..."),
    TaskStatus.INTERRUPTED: lambda r: r.interrupt(NOW),
    TaskStatus.CANCELLED: lambda r: r.cancel(NOW),
    TaskStatus.REJECTED: lambda r: r.reject(NOW, "queue full"),
}


def record_in(status: TaskStatus) -> TaskRecord:
    record = TaskRecord(task_id="t1", func_name="send_email", created_at=NOW)
    for step in PATHS[status]:
        step(record)
    assert record.status is status
    return record


statuses = st.sampled_from(list(TaskStatus))


@given(current=statuses, target=statuses)
def test_a_move_succeeds_exactly_when_the_table_allows_it(
    current: TaskStatus, target: TaskStatus
) -> None:
    record = record_in(current)
    if is_allowed(current, target):
        MOVES[target](record)
        assert record.status is target
    else:
        with pytest.raises(InvalidTransition) as raised:
            MOVES[target](record)
        assert record.status is current
        assert raised.value.current is current and raised.value.target is target


@given(terminal=st.sampled_from([s for s in TaskStatus if s.is_terminal]), target=statuses)
def test_finished_tasks_never_run_again(terminal: TaskStatus, target: TaskStatus) -> None:
    assert not is_allowed(terminal, TaskStatus.RUNNING)
    if terminal is not TaskStatus.INTERRUPTED:
        assert ALLOWED_TRANSITIONS[terminal] == frozenset()


def test_success_to_running_is_refused_with_a_clear_message() -> None:
    record = record_in(TaskStatus.SUCCESS)
    with pytest.raises(InvalidTransition, match="cannot move from 'success' to 'running'"):
        record.start(NOW)


def test_retry_keeps_running_and_counts_attempts() -> None:
    record = record_in(TaskStatus.RUNNING)
    assert record.begin_retry() == "--- Retry 1 ---"
    assert record.begin_retry() == "--- Retry 2 ---"
    assert record.status is TaskStatus.RUNNING
    assert record.attempt == 3


def test_retry_of_a_task_that_is_not_running_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        record_in(TaskStatus.PENDING).begin_retry()
