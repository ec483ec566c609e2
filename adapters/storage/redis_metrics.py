"""Task metrics of the Redis store, from its counters or from a walk over an index.

Unfiltered metrics (and metrics of one function) come from counters the save script keeps
up to date: counts per function and status, a sorted set of durations per function and
overall (for minimum, maximum and the 95th percentile by rank) and a sum per function (for
the average). Their cost depends on the number of functions, not of tasks. Any other filter
is answered by walking the narrowest matching index in chunks and tallying here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi_taskflow.domain.metrics import DurationStats, FunctionMetrics, TaskMetrics
from fastapi_taskflow.domain.status import TaskStatus

#: The percentile the metrics report.
QUANTILE = 0.95

_MICROSECONDS = 1_000_000


def seconds(microseconds: bytes | str | int) -> float:
    """A duration stored in whole microseconds, in seconds (as ``timedelta`` computes it)."""
    return round(float(microseconds)) / _MICROSECONDS


def from_summary(reply: Sequence[Any]) -> TaskMetrics:
    """Metrics from the reply of the ``SUMMARY`` script.

    Without an overall part (one function was asked for), that function's numbers are the
    overall ones.
    """
    overall, function_replies = reply
    counts: dict[TaskStatus, int] = {}
    functions = []
    total_sum = 0
    for name, flat_counts, duration_sum, spread in function_replies:
        function_counts = {
            TaskStatus(status.decode()): int(number)
            for status, number in zip(flat_counts[::2], flat_counts[1::2], strict=True)
        }
        for status, number in function_counts.items():
            counts[status] = counts.get(status, 0) + number
        total_sum += int(duration_sum)
        functions.append(
            FunctionMetrics(
                func_name=name.decode(),
                counts=function_counts,
                durations=_stats(spread, int(duration_sum)),
            )
        )
    functions.sort(key=lambda function: function.func_name)
    if overall is None:
        durations = functions[0].durations if functions else DurationStats()
    else:
        durations = _stats(overall, total_sum)
    return TaskMetrics(counts=counts, durations=durations, functions=tuple(functions))


def _stats(spread: Sequence[Any], duration_sum: int) -> DurationStats:
    count = int(spread[0])
    if count == 0:
        return DurationStats()
    low, high, rank_value = (seconds(value) for value in spread[1:4])
    return DurationStats(
        count=count,
        avg=duration_sum / _MICROSECONDS / count,
        min=low,
        max=high,
        p95=rank_value,
    )


class MetricsTally:
    """Adds up the tasks a filtered walk finds: ``{func, status, duration}`` per task."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[TaskStatus, int]] = {}
        self._durations: dict[str, list[float]] = {}

    def add(self, matches: Sequence[Sequence[bytes | None]]) -> None:
        """Count one chunk of matches."""
        for func, status, duration in matches:
            if func is None or status is None:
                continue
            name = func.decode()
            counts = self._counts.setdefault(name, {})
            task_status = TaskStatus(status.decode())
            counts[task_status] = counts.get(task_status, 0) + 1
            if duration is not None:
                self._durations.setdefault(name, []).append(seconds(duration))

    def metrics(self) -> TaskMetrics:
        """The metrics of everything counted."""
        counts: dict[TaskStatus, int] = {}
        for function_counts in self._counts.values():
            for status, number in function_counts.items():
                counts[status] = counts.get(status, 0) + number
        functions = tuple(
            FunctionMetrics(
                func_name=name,
                counts=self._counts[name],
                durations=DurationStats.of(self._durations.get(name, [])),
            )
            for name in sorted(self._counts)
        )
        every_duration = [value for values in self._durations.values() for value in values]
        return TaskMetrics(
            counts=counts, durations=DurationStats.of(every_duration), functions=functions
        )
