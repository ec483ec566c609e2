"""What the command line shows a person: durations, local times, tables and task views."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.application.task_retries import BulkRetry, RetryOutcome, RetryResult
from fastapi_taskflow.domain.metrics import DurationStats, FunctionMetrics, TaskMetrics
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.cli import human_output as human
from fastapi_taskflow.entrypoints.cli.json_output import task_out
from fastapi_taskflow.entrypoints.cli.session import Arguments

PARIS_WINTER = timezone(timedelta(hours=1))
CREATED = datetime(2026, 1, 15, 9, 30, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.0, "0ms"),
        (0.0004, "0ms"),
        (0.85, "850ms"),
        (0.9996, "1000ms"),
        (1.0, "1.0s"),
        (3.21, "3.2s"),
        (59.94, "59.9s"),
        (59.96, "1m 00s"),
        (245, "4m 05s"),
        (3599.4, "59m 59s"),
        (3599.6, "1h 00m"),
        (4320, "1h 12m"),
        (86399, "23h 59m"),
        (2 * 86400 + 3 * 3600 + 59, "2d 03h"),
        (-1.0, "0ms"),
    ],
)
def test_durations_read_at_a_glance(seconds: float | None, text: str) -> None:
    assert human.duration(seconds) == text


def test_times_are_shown_in_the_local_zone_to_the_second() -> None:
    assert human.local_time(CREATED, PARIS_WINTER) == "2026-01-15 10:30:00"
    assert human.local_time(None) == "-"
    assert human.local_time(CREATED) == CREATED.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def test_tables_pad_columns_and_right_align_numbers() -> None:
    text = human.table(["NAME", "N"], [["alpha", "7"], ["b", "120"]], right=[1])
    assert text.splitlines() == ["NAME     N", "alpha    7", "b      120"]


def test_cells_are_cut_to_one_line() -> None:
    assert human.cut("a\n  b") == "a b"
    assert human.cut("x" * 100, 10) == "xxxxxxx..."


def record(**changes: object) -> TaskRecord:
    task = TaskRecord(
        task_id="t-1",
        func_name="charge",
        args=(7,),
        kwargs={"card": "expired"},
        created_at=CREATED,
        tags={"shop": "eu"},
    )
    task.start(CREATED)
    task.fail(
        CREATED + timedelta(seconds=3.2), "ValueError: declined", "Traceback ...\nValueError"
    )
    for name, value in changes.items():
        setattr(task, name, value)
    return task


def test_the_task_table_has_one_row_per_task() -> None:
    text = human.task_table([record()], PARIS_WINTER)
    header, row = text.splitlines()
    assert header.split() == ["ID", "STATUS", "FUNCTION", "CREATED", "DURATION", "RETRIES"]
    assert row.split() == ["t-1", "failed", "charge", "2026-01-15", "10:30:00", "3.2s", "0"]


def test_task_details_hide_arguments_unless_shown() -> None:
    hidden = human.task_details(record(), Arguments(hidden="hidden; add --show-args"))
    assert "Arguments        hidden; add --show-args" in hidden
    assert "Kwargs" not in hidden
    shown = human.task_details(
        record(logs=["line one", "line two"], retried_as="t-2"),
        Arguments(args=[7], kwargs={"card": "expired"}),
        PARIS_WINTER,
    )
    assert 'Args             [7]\nKwargs           {"card": "expired"}' in shown
    assert "Tags             shop=eu" in shown and "Retried as       t-2" in shown
    assert "Duration         3.2s" in shown and "Started          2026-01-15 10:30:00" in shown
    assert "Stack trace:\n  Traceback ...\n  ValueError" in shown
    assert shown.endswith("Logs (2 lines):\n  line one\n  line two")


def test_json_shows_decrypted_arguments_only_when_they_are_shown() -> None:
    sealed = record(args=(), kwargs={}, encrypted_payload=b"token")
    hidden = task_out(sealed, Arguments(hidden="hidden"))
    assert (hidden.args, hidden.kwargs, hidden.encrypted) == ([], {}, True)
    opened = task_out(sealed, Arguments(args=[7], kwargs={"when": CREATED}))
    assert (opened.args, opened.kwargs, opened.encrypted) == ([7], {"when": repr(CREATED)}, True)
    plain = task_out(record(), Arguments(args=[7], kwargs={"card": "expired"}))
    assert (plain.args, plain.kwargs) == ([7], {"card": "expired"})


def test_the_metrics_report_sums_up_and_breaks_down_by_function() -> None:
    stats = DurationStats.of([0.5, 1.5, 4.0])
    counts = {TaskStatus.SUCCESS: 3, TaskStatus.FAILED: 1}
    metrics = TaskMetrics(
        counts=counts,
        durations=stats,
        functions=(FunctionMetrics(func_name="charge", counts=counts, durations=stats),),
    )
    text = human.metrics_report(metrics)
    lines = text.splitlines()
    assert lines[0].startswith("Tasks: 4   pending 0   running 0   success 3   failed 1")
    assert lines[1] == "Success rate: 75.0% of all, 75.0% of finished"
    assert lines[2] == "Durations: avg 2.0s min 500ms max 4.0s p95 4.0s"
    assert lines[4].split()[:2] == ["FUNCTION", "TOTAL"]
    assert lines[5].split()[:2] == ["charge", "4"] and "75.0%" in lines[5]
    empty = human.metrics_report(TaskMetrics(counts={}, durations=DurationStats()))
    assert empty.splitlines()[1] == "Success rate: - of all, - of finished"


def test_the_bulk_report_lists_each_outcome() -> None:
    outcome = BulkRetry(
        results=[
            RetryResult(task_id="a", outcome=RetryOutcome.DISPATCHED, new_task_id="a2"),
            RetryResult(task_id="b", outcome=RetryOutcome.NOT_FOUND, detail="no task with id 'b'"),
        ]
    )
    lines = human.bulk_report(outcome).splitlines()
    assert lines[1].split() == ["a", "dispatched", "a2"]
    assert lines[2].split()[:3] == ["b", "not_found", "-"]
    assert lines[-1] == "Dispatched 1, skipped 1."
    assert human.bulk_report(BulkRetry(results=[])) == "Dispatched 0, skipped 0."


def test_the_hand_off_note_says_when_the_app_takes_over() -> None:
    assert human.handed_off(10.0) == (
        "It is stored without an owner: the next recovery sweep of a running app instance "
        "(every 10 s) claims and runs it."
    )
    assert human.handed_off(0.5, 3).startswith("They are stored without an owner")
    assert human.handed_off(0.5, 3).endswith("(every 0.5 s) claims and runs them.")
