"""What the storage benchmarks share: sample records and how a series of saves is timed.

Imported by the benchmark scripts next to it (run them as ``python benchmarks/<script>.py``).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.storage import TaskRepository

_ids = itertools.count()


def new_records(count: int) -> list[TaskRecord]:
    """Fresh pending tasks with one tag and a few arguments, like a typical enqueue."""
    now = datetime.now(timezone.utc)
    return [
        TaskRecord(
            task_id=f"bench-{next(_ids)}",
            func_name="send_email",
            args=("user@example.com", 3),
            kwargs={"subject": "hello"},
            tags={"kind": "benchmark"},
            created_at=now,
        )
        for _ in range(count)
    ]


@dataclass(frozen=True)
class Rate:
    """How fast one series of saves went."""

    records_per_second: float
    #: CPU time of this process per record: the client-side cost, which server latency and
    #: the load of other processes on the machine hardly affect.
    cpu_microseconds_per_record: float


async def save_rate(store: TaskRepository, batches: Sequence[Sequence[TaskRecord]]) -> Rate:
    """Save every batch in turn, one call each."""
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in batches:
        await store.save(batch)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    records = sum(len(batch) for batch in batches)
    return Rate(
        records_per_second=records / elapsed, cpu_microseconds_per_record=cpu / records * 1e6
    )


def median_line(rates: list[Rate]) -> str:
    """Median records/s and CPU µs per record, aligned for a table."""
    speed = statistics.median(rate.records_per_second for rate in rates)
    cpu = statistics.median(rate.cpu_microseconds_per_record for rate in rates)
    return f"{speed:>9,.0f} {cpu:>9,.0f}"
