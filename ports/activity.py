"""Aggregates over time and durations, computed by the store (the dashboard's charts)."""

from __future__ import annotations

from typing import Protocol

from fastapi_taskflow.domain.activity import Activity, ActivityWindow, DurationHistogram


class ActivityStats(Protocol):
    """Counts a store computes without handing every task to the caller."""

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """Finished tasks (of ``func_name`` when given) counted by the bucket of ``window``
        their end time falls in, and by final status."""
        ...

    async def duration_histogram(self, func_name: str | None = None) -> DurationHistogram:
        """Durations of the tasks that have one (of ``func_name`` when given), binned by
        :data:`~fastapi_taskflow.domain.activity.DURATION_EDGES`."""
        ...
