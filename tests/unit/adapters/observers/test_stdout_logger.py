"""StdoutLogger prints one line per event to standard output."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.observers import StdoutLogger
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent, LogLevel
from fastapi_taskflow.domain.status import TaskStatus

NOON = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def log_event(message: str, level: LogLevel = "info") -> LogEvent:
    return LogEvent(task_id="t1", func_name="report", message=message, level=level, timestamp=NOON)


def success() -> LifecycleEvent:
    return LifecycleEvent(
        task_id="t1", func_name="report", status=TaskStatus.SUCCESS, timestamp=NOON, duration=2
    )


async def test_prints_log_lines_from_info_up_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stdout = StdoutLogger()

    await stdout.on_log(log_event("noise", level="debug"))
    await stdout.on_log(log_event("built"))
    await stdout.on_lifecycle(success())

    assert capsys.readouterr().out == "[t1] [report] 2026-01-01T12:00:00.000+00:00 built\n"


async def test_min_level_and_lifecycle_lines(capsys: pytest.CaptureFixture[str]) -> None:
    stdout = StdoutLogger(log_lifecycle=True, min_level="WARNING")

    await stdout.on_log(log_event("built"))
    await stdout.on_log(log_event("slow disk", level="warning"))
    await stdout.on_lifecycle(success())
    await stdout.close()

    assert capsys.readouterr().out.splitlines() == [
        "[t1] [report] 2026-01-01T12:00:00.000+00:00 [WARNING] slow disk",
        "[t1] [report] 2026-01-01T12:00:00.000+00:00 -- SUCCESS duration=2.00s",
    ]


def test_rejects_an_unknown_min_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        StdoutLogger(min_level="verbose")
