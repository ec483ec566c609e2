"""Activity charts without recounting the past on every refresh.

A task's end time is the moment it finished, so only the latest intervals of a trailing
window can still gain tasks; older intervals are final. A dashboard that refreshes its chart
every few seconds would otherwise make the store count a whole day of history each time. The
cache keeps the counts of settled intervals and asks the store only for the last few
(``settle``, which also absorbs clock skew between instances and the short delay before a
finished task reaches storage). Everything is counted afresh every ``refresh_every`` seconds,
so deleted history and late writes show up within that time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

import attrs

from fastapi_taskflow.domain.activity import Activity, ActivityWindow
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.clock import Clock

#: Counts an activity source gives for a window (the store, behind the write buffer).
ActivitySource = Callable[[ActivityWindow, "str | None"], Awaitable[Activity]]

#: Intervals at the end of a window that are always counted again.
SETTLE = 2
#: Seconds after which a window is counted again from scratch.
REFRESH_EVERY = 300.0
#: How long after an interval ended a count of it is taken as final.
GRACE = timedelta(seconds=5)
#: Most intervals one window may have, and one series remembers.
MAX_INTERVALS = 200
#: Different (interval width, function) pairs remembered.
MAX_SERIES = 64


@attrs.define
class _Series:
    counted_at: float
    #: Interval start -> its counts and the wall-clock time they were counted.
    counts: dict[datetime, tuple[Mapping[TaskStatus, int], datetime]]


class ActivityCache:
    """Answers activity queries from final counts plus a fresh count of the newest ones.

    An interval's count is reused once it was counted at least ``grace`` after the interval
    ended, and while it is older than the last ``settle`` intervals of the window asked for.
    """

    def __init__(
        self,
        source: ActivitySource,
        clock: Clock,
        *,
        settle: int = SETTLE,
        refresh_every: float = REFRESH_EVERY,
        grace: timedelta = GRACE,
    ) -> None:
        if settle < 1:
            raise ValueError(f"settle must be at least 1, got {settle!r}")
        self._source = source
        self._clock = clock
        self._settle = settle
        self._refresh_every = refresh_every
        self._grace = grace
        self._series: OrderedDict[tuple[timedelta, str | None], _Series] = OrderedDict()

    async def activity(self, window: ActivityWindow, func_name: str | None = None) -> Activity:
        """The counts of ``window``, from the store where they may still change."""
        key = (window.bucket, func_name)
        starts = window.starts()
        fresh_count = min(self._settle, window.count)
        older = starts[: window.count - fresh_count]
        series = self._series.get(key)
        if series is None or self._clock.monotonic() - series.counted_at >= self._refresh_every:
            series = _Series(counted_at=self._clock.monotonic(), counts={})
            reusable = False
        else:
            reusable = all(self._final(series, start, window.bucket) for start in older)
        if reusable:
            fresh_window = ActivityWindow(
                start=starts[-fresh_count], bucket=window.bucket, count=fresh_count
            )
            fresh = await self._source(fresh_window, func_name)
            buckets = (*(series.counts[start][0] for start in older), *fresh.buckets)
            counted_starts = starts[-fresh_count:]
            counted_buckets = fresh.buckets
        else:
            counted = await self._source(window, func_name)
            buckets = counted.buckets
            counted_starts, counted_buckets = starts, counted.buckets
            series.counted_at = self._clock.monotonic()
        now = self._clock.now()
        for start, counts in zip(counted_starts, counted_buckets, strict=True):
            series.counts[start] = (counts, now)
        # Only the newest intervals are kept, so memory stays bounded.
        for start in sorted(series.counts)[:-MAX_INTERVALS]:
            del series.counts[start]
        self._series[key] = series
        self._series.move_to_end(key)
        while len(self._series) > MAX_SERIES:
            self._series.popitem(last=False)
        return Activity(window=window, buckets=tuple(buckets))

    def _final(self, series: _Series, start: datetime, bucket: timedelta) -> bool:
        known = series.counts.get(start)
        return known is not None and known[1] >= start + bucket + self._grace
