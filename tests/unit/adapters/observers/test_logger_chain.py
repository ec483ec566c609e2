"""LoggerChain: every observer hears every event, in order, whatever the others do."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.observers import InMemoryLogger, LoggerChain
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.observers import TaskObserver

NOON = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def log_event(message: str) -> LogEvent:
    return LogEvent(task_id="t1", func_name="send_email", message=message, timestamp=NOON)


def lifecycle_event(status: TaskStatus) -> LifecycleEvent:
    return LifecycleEvent(task_id="t1", func_name="send_email", status=status, timestamp=NOON)


class SyncObserver(TaskObserver):
    """Implements the port with plain methods, as users are allowed to."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.closed = False

    def on_log(self, event: LogEvent) -> None:  # type: ignore[override]
        self.messages.append(event.message)

    def close(self) -> None:  # type: ignore[override]
        self.closed = True


class BrokenSyncObserver(TaskObserver):
    def on_log(self, event: LogEvent) -> None:  # type: ignore[override]
        raise RuntimeError("sync observer broke")

    def on_lifecycle(self, event: LifecycleEvent) -> None:  # type: ignore[override]
        raise RuntimeError("sync observer broke")

    def close(self) -> None:  # type: ignore[override]
        raise RuntimeError("sync observer broke")


class BrokenAsyncObserver(TaskObserver):
    async def on_log(self, event: LogEvent) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async observer broke")

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        raise RuntimeError("async observer broke")

    async def close(self) -> None:
        raise RuntimeError("async observer broke")


class ClosingMemory(InMemoryLogger):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def failures(caplog: pytest.LogCaptureFixture, observer_name: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "fastapi_taskflow.observers" and observer_name in record.getMessage()
    ]


async def test_a_failing_observer_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before, after = ClosingMemory(), SyncObserver()
    chain = LoggerChain([before, BrokenSyncObserver(), BrokenAsyncObserver(), after])

    await chain.on_log(log_event("first"))
    await chain.on_lifecycle(lifecycle_event(TaskStatus.RUNNING))
    await chain.on_log(log_event("second"))
    await chain.close()

    assert [e.message for e in before.log_events] == ["first", "second"]
    assert [e.status for e in before.lifecycle_events] == [TaskStatus.RUNNING]
    assert after.messages == ["first", "second"]
    assert before.closed and after.closed
    # Two log events, one lifecycle event and close: four failures each, logged once apiece.
    for name in ("BrokenSyncObserver", "BrokenAsyncObserver"):
        logged = failures(caplog, name)
        assert len(logged) == 4
        assert all(record.levelno == logging.ERROR and record.exc_info for record in logged)


async def test_a_chain_of_one_failing_observer_still_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chain = LoggerChain([BrokenAsyncObserver()])

    await chain.on_log(log_event("lost"))

    assert len(failures(caplog, "BrokenAsyncObserver")) == 1


async def test_async_observers_have_finished_when_the_chain_returns() -> None:
    memory = InMemoryLogger()

    class Deferred(TaskObserver):
        async def on_log(self, event: LogEvent) -> None:
            await asyncio.sleep(0)
            await memory.on_log(event)

    chain = LoggerChain([Deferred(), SyncObserver()])
    await chain.on_log(log_event("done"))

    assert [e.message for e in memory.log_events] == ["done"]


async def test_a_slow_observer_neither_delays_nor_reorders_the_others() -> None:
    gate = asyncio.Event()
    fast = InMemoryLogger()
    fast_has_all = asyncio.Event()

    class Slow(TaskObserver):
        def __init__(self) -> None:
            self.entered: list[str] = []

        async def on_log(self, event: LogEvent) -> None:
            self.entered.append(event.message)
            if event.message == "e1":
                await gate.wait()

    class Fast(TaskObserver):
        async def on_log(self, event: LogEvent) -> None:
            await fast.on_log(event)
            if len(fast.log_events) == 3:
                fast_has_all.set()

    slow = Slow()
    chain = LoggerChain([slow, Fast()])
    publishers = [asyncio.create_task(chain.on_log(log_event(f"e{n}"))) for n in (1, 2, 3)]

    # The slow observer is still stuck on e1, yet the fast one has received everything.
    await asyncio.wait_for(fast_has_all.wait(), timeout=5)
    assert [e.message for e in fast.log_events] == ["e1", "e2", "e3"]
    assert not publishers[0].done()

    gate.set()
    await asyncio.gather(*publishers)
    assert slow.entered == ["e1", "e2", "e3"]


async def test_exposes_its_observers_as_a_tuple() -> None:
    first, second = InMemoryLogger(), InMemoryLogger()

    chain = LoggerChain([first, second])

    assert chain.observers == (first, second)


async def test_an_empty_chain_accepts_events() -> None:
    chain = LoggerChain([])

    await chain.on_log(log_event("nobody listens"))
    await chain.close()
