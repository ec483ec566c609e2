"""FileLogger writes one plain-text line per event, rotates, and follows external rotation."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from fastapi_taskflow.adapters.observers import FileLogger, LoggerChain
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent, LogLevel
from fastapi_taskflow.domain.status import TaskStatus

NOON = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
STAMP = "2026-01-01T12:00:00.000+00:00"

MakeLogger = Callable[..., FileLogger]


def log_event(message: str, level: LogLevel = "info", **extra: Any) -> LogEvent:
    return LogEvent(
        task_id="t1",
        func_name="send_email",
        message=message,
        level=level,
        timestamp=NOON,
        extra=extra,
    )


def lifecycle_event(status: TaskStatus, **fields: Any) -> LifecycleEvent:
    return LifecycleEvent(
        task_id="t1", func_name="send_email", status=status, timestamp=NOON, **fields
    )


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def names_in(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


@pytest.fixture
async def make_logger() -> AsyncIterator[MakeLogger]:
    """Build FileLoggers and close each one after the test, as the task manager would."""
    made: list[FileLogger] = []

    def make(*args: Any, **kwargs: Any) -> FileLogger:
        logger = FileLogger(*args, **kwargs)
        made.append(logger)
        return logger

    yield make
    for logger in made:
        await logger.close()


async def test_writes_the_documented_line_format(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path)

    await logger.on_log(log_event("sending"))
    await logger.on_log(log_event("smtp slow", level="warning", server="mx1", tries=2))
    await logger.on_lifecycle(lifecycle_event(TaskStatus.RUNNING))

    assert lines(path) == [
        f"[t1] [send_email] {STAMP} sending",
        f"[t1] [send_email] {STAMP} [WARNING] smtp slow server='mx1' tries=2",
    ]


async def test_writes_lifecycle_lines_when_asked(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, log_lifecycle=True)

    await logger.on_lifecycle(lifecycle_event(TaskStatus.RUNNING))
    await logger.on_lifecycle(
        lifecycle_event(TaskStatus.FAILED, attempt=2, error="boom\nsecond line", duration=1.234)
    )
    await logger.on_lifecycle(lifecycle_event(TaskStatus.SUCCESS, duration=0.5))

    assert lines(path) == [
        f"[t1] [send_email] {STAMP} -- RUNNING",
        f"[t1] [send_email] {STAMP} -- FAILED (attempt 2) error='boom\\nsecond line'"
        " duration=1.23s",
        f"[t1] [send_email] {STAMP} -- SUCCESS duration=0.50s",
    ]


async def test_drops_lines_below_min_level(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, min_level="warning")

    for level in ("debug", "info", "warning", "error"):
        await logger.on_log(log_event(level, level=level))

    assert lines(path) == [
        f"[t1] [send_email] {STAMP} [WARNING] warning",
        f"[t1] [send_email] {STAMP} [ERROR] error",
    ]


async def test_writes_debug_lines_by_default(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path)

    await logger.on_log(log_event("details", level="debug"))

    assert lines(path) == [f"[t1] [send_email] {STAMP} [DEBUG] details"]


async def test_rotates_when_the_file_grows_past_max_bytes(
    tmp_path: Path, make_logger: MakeLogger
) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, max_bytes=150, backup_count=2)
    written = [f"[t1] [send_email] {STAMP} line {n:02d}" for n in range(20)]

    for n in range(20):
        await logger.on_log(log_event(f"line {n:02d}"))

    assert names_in(tmp_path) == ["tasks.log", "tasks.log.1", "tasks.log.2"]
    assert path.stat().st_size <= 150
    # Oldest lines fell off the end; what is kept is the most recent run, in order.
    kept = lines(tmp_path / "tasks.log.2") + lines(tmp_path / "tasks.log.1") + lines(path)
    assert kept == written[-len(kept) :]
    assert len(kept) < len(written)


async def test_watched_mode_reopens_a_file_moved_away(
    tmp_path: Path, make_logger: MakeLogger
) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, mode="watched", max_bytes=10)

    await logger.on_log(log_event("before rotation"))
    path.rename(tmp_path / "tasks.log.1")
    await logger.on_log(log_event("after rotation"))

    assert lines(tmp_path / "tasks.log.1") == [f"[t1] [send_email] {STAMP} before rotation"]
    assert lines(path) == [f"[t1] [send_email] {STAMP} after rotation"]


def test_rejects_an_unknown_mode_without_creating_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"

    with pytest.raises(ValueError, match="expected one of rotate, watched"):
        FileLogger(path, mode="daily")

    assert not path.exists()


def test_rejects_an_unknown_min_level(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        FileLogger(tmp_path / "tasks.log", min_level="loud")


async def test_lines_stay_out_of_the_root_logger(
    tmp_path: Path, make_logger: MakeLogger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logger = make_logger(tmp_path / "tasks.log")

    await logger.on_log(log_event("private"))

    assert caplog.records == []


async def test_close_flushes_and_later_events_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"
    logger = FileLogger(path)
    await logger.on_log(log_event("kept"))

    await logger.close()
    await logger.on_log(log_event("after close"))
    await logger.close()

    assert lines(path) == [f"[t1] [send_email] {STAMP} kept"]


async def test_lines_from_several_threads_do_not_interleave(
    tmp_path: Path, make_logger: MakeLogger
) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, max_bytes=0)

    async def write_from_thread(thread: int) -> None:
        for n in range(200):
            await logger.on_log(log_event(f"thread {thread} line {n}"))

    threads = [
        threading.Thread(target=asyncio.run, args=(write_from_thread(t),)) for t in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    written = lines(path)
    assert len(written) == 800
    assert set(written) == {
        f"[t1] [send_email] {STAMP} thread {t} line {n}" for t in range(4) for n in range(200)
    }


async def test_a_write_failure_reaches_the_chain_which_reports_it(
    tmp_path: Path, make_logger: MakeLogger, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tasks.log"
    logger = make_logger(path, mode="watched")
    await logger.on_log(log_event("fine"))
    # Something replaced the log file with a directory: reopening it must fail loudly.
    path.rename(tmp_path / "moved.log")
    path.mkdir()

    with pytest.raises(OSError):
        await logger.on_log(log_event("lost"))
    await LoggerChain([logger]).on_log(log_event("lost again"))

    reported = [r for r in caplog.records if r.name == "fastapi_taskflow.observers"]
    assert len(reported) == 1
    assert "FileLogger" in reported[0].getMessage()


def test_exposes_its_absolute_path_and_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_logger: MakeLogger
) -> None:
    monkeypatch.chdir(tmp_path)

    logger = make_logger("tasks.log", mode="watched")

    assert logger.path == tmp_path / "tasks.log"
    assert logger.mode == "watched"
