"""The task record: timestamps, durations, logs and its API shape."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.task import MAX_LOG_LINES, TaskRecord

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TaskRecord(task_id="t", func_name="f", created_at=datetime(2026, 1, 1))


def test_duration_spans_first_start_to_end() -> None:
    record = TaskRecord(task_id="t", func_name="f", created_at=NOW)
    assert record.duration is None
    record.start(NOW)
    record.begin_retry()
    record.succeed(NOW + timedelta(seconds=3.5))
    assert record.duration == 3.5


def test_failure_keeps_error_and_stacktrace() -> None:
    record = TaskRecord(task_id="t", func_name="f", created_at=NOW)
    record.start(NOW)
    record.fail(NOW, "ValueError: bad", "Traceback (most recent call last): ...")
    assert (record.error, record.stacktrace) == (
        "ValueError: bad",
        "Traceback (most recent call last): ...",
    )


def test_requeue_starts_over_and_releases_the_owner() -> None:
    record = TaskRecord(task_id="t", func_name="f", created_at=NOW, instance_id="a")
    record.start(NOW)
    record.interrupt(NOW)
    record.requeue(NOW)
    assert (record.start_time, record.end_time, record.instance_id) == (None, None, None)
    assert record.logs[-1].endswith("--- Requeued after interruption ---")


def test_logs_are_bounded_and_say_what_was_dropped() -> None:
    record = TaskRecord(task_id="t", func_name="f", created_at=NOW)
    for n in range(MAX_LOG_LINES + 10):
        record.add_log(f"line {n}")
    assert len(record.logs) == MAX_LOG_LINES
    assert "earlier lines dropped" in record.logs[0]
    assert record.logs[-1] == f"line {MAX_LOG_LINES + 9}"


def test_to_dict_matches_the_api_shape_and_can_hide_arguments() -> None:
    record = TaskRecord(
        task_id="t",
        func_name="f",
        created_at=NOW,
        args=("a@example.com",),
        kwargs={"retry": True},
        tags={"user": "42"},
        executor=ExecutorKind.THREAD,
    )
    data = record.to_dict()
    assert data["status"] == "pending"
    assert data["args"] == ["a@example.com"] and data["kwargs"] == {"retry": True}
    assert data["created_at"] == "2026-03-01T08:30:00+00:00"
    assert data["executor"] == "thread" and data["tags"] == {"user": "42"}
    hidden = record.to_dict(include_args=False)
    assert hidden["args"] == [] and hidden["kwargs"] == {}


def test_copy_is_independent() -> None:
    record = TaskRecord(task_id="t", func_name="f", created_at=NOW, tags={"a": "1"})
    snapshot = record.copy()
    record.add_log("later")
    record.tags["b"] = "2"
    assert snapshot.logs == [] and snapshot.tags == {"a": "1"}
