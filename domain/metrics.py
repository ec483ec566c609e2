"""Summaries of task durations and outcomes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from fastapi_taskflow.domain.status import TaskStatus


@attrs.frozen(kw_only=True)
class DurationStats:
    """Statistics over the durations (seconds) of finished tasks."""

    count: int = 0
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    p95: float | None = None

    @classmethod
    def of(cls, durations: Sequence[float]) -> DurationStats:
        """Compute the statistics of ``durations`` (any order)."""
        if not durations:
            return cls()
        ordered = sorted(durations)
        return cls(
            count=len(ordered),
            avg=sum(ordered) / len(ordered),
            min=ordered[0],
            max=ordered[-1],
            p95=ordered[nearest_rank(len(ordered), 0.95)],
        )


def nearest_rank(count: int, quantile: float) -> int:
    """Index of the nearest-rank quantile in a sorted sequence of ``count`` items."""
    return max(0, math.ceil(quantile * count) - 1)


@attrs.frozen(kw_only=True)
class FunctionMetrics:
    """Outcome counts and durations of one task function."""

    func_name: str
    counts: Mapping[TaskStatus, int]
    durations: DurationStats


@attrs.frozen(kw_only=True)
class TaskMetrics:
    """Counts per status and durations, overall and per function."""

    counts: Mapping[TaskStatus, int]
    durations: DurationStats
    functions: tuple[FunctionMetrics, ...] = ()

    @property
    def total(self) -> int:
        """Number of tasks counted."""
        return sum(self.counts.values())

    @property
    def success_rate(self) -> float | None:
        """Share of finished tasks that succeeded (``None`` before any finished)."""
        return success_rate(self.counts)


def success_rate(counts: Mapping[TaskStatus, int]) -> float | None:
    """Successes over all tasks that reached a terminal status."""
    finished = sum(n for status, n in counts.items() if status.is_terminal)
    if finished == 0:
        return None
    return counts.get(TaskStatus.SUCCESS, 0) / finished
