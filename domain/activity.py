"""Task activity over time and the spread of durations: what the dashboard's charts show."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware
from fastapi_taskflow.domain.status import TaskStatus

#: Upper edges (seconds) of the duration histogram's bins; a last bin holds everything longer.
#: Roughly 1-2.5-5 steps, so a chart on a log axis has evenly wide bars from 1 ms to an hour.
DURATION_EDGES: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)


def _positive_span(_inst: object, _attr: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"bucket must be a positive span, got {value!r}")


@attrs.frozen(kw_only=True)
class ActivityWindow:
    """``count`` consecutive buckets of ``bucket`` each, the first starting at ``start``."""

    start: datetime = attrs.field(validator=require_aware)
    bucket: timedelta = attrs.field(validator=_positive_span)
    count: int = attrs.field(validator=attrs.validators.ge(1))

    @property
    def end(self) -> datetime:
        return self.start + self.bucket * self.count

    def index_of(self, moment: datetime) -> int | None:
        """The bucket ``moment`` falls in, or ``None`` outside the window."""
        if moment < self.start or moment >= self.end:
            return None
        return int((moment - self.start) / self.bucket)

    def starts(self) -> list[datetime]:
        return [self.start + self.bucket * index for index in range(self.count)]


@attrs.frozen(kw_only=True)
class Activity:
    """Tasks that finished in each bucket of a window, by final status."""

    window: ActivityWindow
    buckets: tuple[Mapping[TaskStatus, int], ...]


def duration_bin(duration: float, edges: Sequence[float] = DURATION_EDGES) -> int:
    """The histogram bin of ``duration``: the first edge it stays below, else the last bin."""
    return bisect.bisect_right(edges, duration)


@attrs.frozen(kw_only=True)
class DurationHistogram:
    """How many tasks took how long: ``counts[i]`` tasks took less than ``edges[i]`` seconds
    (and at least the previous edge); the last count is of those that took longer."""

    edges: tuple[float, ...] = DURATION_EDGES
    counts: tuple[int, ...] = attrs.field()

    @counts.validator
    def _one_more_than_edges(
        self, _attr: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]
    ) -> None:
        if len(value) != len(self.edges) + 1:
            raise ValueError(f"{len(self.edges) + 1} counts are needed, got {len(value)}")

    @property
    def total(self) -> int:
        return sum(self.counts)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def trailing_window(now: datetime, span: timedelta, count: int) -> ActivityWindow:
    """``count`` buckets covering at least ``span`` up to ``now``, on epoch-aligned bucket
    boundaries so the bars of successive refreshes line up. The last bucket holds ``now``."""
    if span <= timedelta(0):
        raise ValueError(f"span must be positive, got {span!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count!r}")
    step = max(timedelta(seconds=1), span / count)
    step = timedelta(seconds=round(step.total_seconds()))
    elapsed = (now - _EPOCH) // step
    end = _EPOCH + step * (elapsed + 1)
    return ActivityWindow(start=end - step * count, bucket=step, count=count)
