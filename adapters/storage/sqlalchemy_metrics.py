"""Task metrics aggregated by the database, without loading the records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fastapi_taskflow.adapters.storage.sqlalchemy_schema import tasks
from fastapi_taskflow.domain.metrics import (
    DurationStats,
    FunctionMetrics,
    TaskMetrics,
    nearest_rank,
)
from fastapi_taskflow.domain.status import TaskStatus

_P95 = 0.95

#: Count, average, minimum and maximum of the recorded durations.
_SUMMARY = (
    func.count(tasks.c.duration),
    func.avg(tasks.c.duration),
    func.min(tasks.c.duration),
    func.max(tasks.c.duration),
)


async def aggregate_metrics(
    connection: AsyncConnection, conditions: list[ColumnElement[bool]]
) -> TaskMetrics:
    """Counts per status and duration statistics of the tasks matching ``conditions``."""
    counts: dict[TaskStatus, int] = {}
    function_counts: dict[str, dict[TaskStatus, int]] = {}
    count_rows = await connection.execute(
        select(tasks.c.func_name, tasks.c.status, func.count())
        .where(*conditions)
        .group_by(tasks.c.func_name, tasks.c.status)
    )
    for name, status_value, number in count_rows:
        status = TaskStatus(status_value)
        counts[status] = counts.get(status, 0) + number
        function_counts.setdefault(name, {})[status] = number

    timed = [*conditions, tasks.c.duration.is_not(None)]
    summaries = await connection.execute(
        select(tasks.c.func_name, *_SUMMARY).where(*timed).group_by(tasks.c.func_name)
    )
    function_durations = {
        name: await _with_p95(connection, [*timed, tasks.c.func_name == name], summary)
        for name, *summary in summaries.all()
    }
    overall = (await connection.execute(select(*_SUMMARY).where(*timed))).one()
    functions = tuple(
        FunctionMetrics(
            func_name=name,
            counts=function_counts[name],
            durations=function_durations.get(name, DurationStats()),
        )
        for name in sorted(function_counts)
    )
    return TaskMetrics(
        counts=counts,
        durations=await _with_p95(connection, timed, tuple(overall)),
        functions=functions,
    )


async def _with_p95(
    connection: AsyncConnection, timed: list[ColumnElement[bool]], summary: Sequence[Any]
) -> DurationStats:
    count, avg, low, high = summary
    if not count:
        return DurationStats()
    # Nearest-rank percentile: the k-th smallest duration, picked by the database.
    p95 = await connection.scalar(
        select(tasks.c.duration)
        .where(*timed)
        .order_by(tasks.c.duration)
        .limit(1)
        .offset(nearest_rank(count, _P95))
    )
    return DurationStats(
        count=count,
        avg=float(avg),
        min=float(low),
        max=float(high),
        p95=None if p95 is None else float(p95),
    )
