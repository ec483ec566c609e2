"""Write-behind buffering: batching, coalescing, and riding out a storage outage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.errors import StorageBacklogFull
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord

pytestmark = pytest.mark.asyncio

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FlakyStorage(MemoryTaskStorage):
    """Memory storage that refuses writes while ``down`` is set, counting every batch."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.batches: list[int] = []

    async def save(self, records: Sequence[TaskRecord]) -> None:
        self.batches.append(len(records))
        if self.down:
            raise ConnectionError("database is restarting")
        await super().save(records)


def task(n: int) -> TaskRecord:
    return TaskRecord(task_id=f"t{n}", func_name="f", created_at=NOW)


async def test_changes_are_committed_in_batches_with_the_latest_snapshot() -> None:
    storage = FlakyStorage()
    writer = WriteBehind(storage, FakeClock(), batch_size=100)
    records = [task(n) for n in range(250)]
    for record in records:
        writer.put(record)
    records[0].start(NOW)
    writer.put(records[0])  # a second change to one task before the commit
    assert await writer.flush()
    assert storage.batches == [100, 100, 50]
    first = await storage.get("t0")
    assert first is not None and first.status is TaskStatus.RUNNING


async def test_snapshots_are_taken_at_put_time() -> None:
    storage = FlakyStorage()
    writer = WriteBehind(storage, FakeClock())
    record = task(1)
    writer.put(record)
    record.start(NOW)  # changed after put, without a new put
    await writer.flush()
    stored = await storage.get("t1")
    assert stored is not None and stored.status is TaskStatus.PENDING


async def test_an_outage_keeps_changes_buffered_until_storage_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = FlakyStorage()
    writer = WriteBehind(storage, FakeClock())
    storage.down = True
    writer.put(task(1))
    with caplog.at_level(logging.ERROR, logger="fastapi_taskflow.storage"):
        assert await writer.flush() is False
        assert await writer.flush() is False
    assert writer.backlog == 1
    assert len([r for r in caplog.records if "stay buffered" in r.getMessage()]) == 1
    record = task(1)
    record.start(NOW)
    writer.put(record)  # a newer change arrives during the outage
    storage.down = False
    assert await writer.flush()
    stored = await storage.get("t1")
    assert stored is not None and stored.status is TaskStatus.RUNNING
    assert writer.backlog == 0


async def test_background_loop_retries_and_stop_flushes() -> None:
    storage = FlakyStorage()
    writer = WriteBehind(storage, FakeClock())
    writer.start()
    storage.down = True
    writer.put(task(1))
    for _ in range(20):
        if len(storage.batches) >= 3:
            break
        await asyncio.sleep(0)
    assert len(storage.batches) >= 3  # kept retrying, backing off on the clock
    storage.down = False
    assert await writer.stop()
    assert await storage.get("t1") is not None


async def test_a_full_backlog_refuses_new_tasks_but_keeps_every_accepted_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = FlakyStorage()
    writer = WriteBehind(storage, FakeClock(), max_backlog=3)
    storage.down = True
    accepted = [task(n) for n in range(3)]
    for record in accepted:
        writer.admit()
        writer.put(record)
    assert await writer.flush() is False

    with caplog.at_level(logging.ERROR, logger="fastapi_taskflow.storage"):
        with pytest.raises(StorageBacklogFull, match=r"3 task changes .* \(limit 3\)"):
            writer.admit()
        with pytest.raises(StorageBacklogFull):
            writer.admit()
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1

    accepted[0].start(NOW)
    writer.put(accepted[0])  # a task already accepted still records its progress
    assert writer.backlog == 3

    storage.down = False
    assert await writer.flush()
    writer.admit()  # room again
    stored = await storage.get("t0")
    assert stored is not None and stored.status is TaskStatus.RUNNING
    assert [await storage.get(f"t{n}") is not None for n in range(3)] == [True] * 3


async def test_the_backlog_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_backlog"):
        WriteBehind(FlakyStorage(), FakeClock(), max_backlog=0)
