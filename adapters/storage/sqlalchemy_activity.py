"""Chart aggregates computed by the database, one query each: activity grouped by an
end-time bucket each dialect computes exactly, durations by conditional sums over ranges."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fastapi_taskflow.adapters.storage.sqlalchemy_schema import tasks
from fastapi_taskflow.domain.activity import (
    DURATION_EDGES,
    Activity,
    ActivityWindow,
    DurationHistogram,
)
from fastapi_taskflow.domain.status import TERMINAL_STATUSES, TaskStatus


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _bucket_index(dialect: str, start: datetime, width: timedelta) -> ColumnElement[Any]:
    """The window bucket of each row's end time, computed exactly by the database.

    Each dialect spells the elapsed time differently; every form is exact, so a task ending on
    a bucket boundary lands in the bucket that starts there. Times are naive UTC in storage.
    """
    naive_start = literal(start.replace(tzinfo=None), DateTime())
    width_us = width // timedelta(microseconds=1)
    end_time = tasks.c.end_time
    if dialect == "postgresql":
        elapsed_us = func.extract("epoch", end_time - naive_start) * 1_000_000
        return func.floor(elapsed_us / width_us)
    if dialect in ("mysql", "mariadb"):
        elapsed = func.timestampdiff(literal_column("MICROSECOND"), naive_start, end_time)
        return func.floor(elapsed / width_us)
    # SQLite stores the text 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from the first 19
    # characters plus the microseconds give an exact integer, and integer division floors
    # (the WHERE clause keeps every value at or after the start).
    text = cast(end_time, String)
    whole_seconds = cast(func.strftime("%s", func.substr(text, 1, 19)), Integer)
    micros = func.coalesce(cast(func.substr(text, 21, 6), Integer), 0)
    start_us = microseconds_since_epoch(start)
    return (whole_seconds * 1_000_000 + micros - start_us) / width_us


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def microseconds_since_epoch(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


async def activity_by_bucket(
    connection: AsyncConnection, window: ActivityWindow, func_name: str | None
) -> Activity:
    """Finished tasks counted by end-time bucket and status, grouped by the database."""
    end_time = tasks.c.end_time
    conditions = [
        end_time >= window.start,
        end_time < window.end,
        tasks.c.status.in_(sorted(status.value for status in TERMINAL_STATUSES)),
    ]
    if func_name is not None:
        conditions.append(tasks.c.func_name == func_name)
    index = _bucket_index(connection.dialect.name, window.start, window.bucket).label("bucket")
    rows = await connection.execute(
        select(index, tasks.c.status, func.count())
        .where(*conditions)
        .group_by(index, tasks.c.status)
    )
    buckets: list[dict[TaskStatus, int]] = [{} for _ in range(window.count)]
    for position, status_value, number in rows:
        if position is not None and 0 <= int(position) < window.count:
            status = TaskStatus(status_value)
            bucket = buckets[int(position)]
            bucket[status] = bucket.get(status, 0) + int(number)
    return Activity(window=window, buckets=tuple(buckets))


async def durations_by_bin(
    connection: AsyncConnection, func_name: str | None
) -> DurationHistogram:
    """Durations binned by :data:`DURATION_EDGES` (one column per bin)."""
    duration = tasks.c.duration
    lows = [None, *DURATION_EDGES]
    highs = [*DURATION_EDGES, None]
    columns: list[ColumnElement[int]] = []
    for low, high in zip(lows, highs, strict=True):
        if low is None:
            columns.append(_count_where(duration < high))
        elif high is None:
            columns.append(_count_where(duration >= low))
        else:
            columns.append(_count_where((duration >= low) & (duration < high)))
    conditions: list[ColumnElement[bool]] = [duration.is_not(None)]
    if func_name is not None:
        conditions.append(tasks.c.func_name == func_name)
    row = (await connection.execute(select(*columns).where(*conditions))).one()
    return DurationHistogram(counts=tuple(int(number or 0) for number in row))
