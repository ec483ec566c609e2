"""The dashboard's charts, rendered on the server as SVG.

The markup carries classes (``chart-bar-success`` ...) that the dashboard's stylesheet colours
for the light and dark themes, plus plain fill attributes as the fallback when an SVG is
opened on its own. Axis labels fit at up to ``LARGEST_LABEL_FONT``, the size the stylesheet
uses on a phone, where it hides every other one (``chart-label-minor``). Every text is
escaped; each bar has a ``<title>`` that browsers show on hover and screen readers read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from xml.sax.saxutils import escape

from fastapi_taskflow.domain.activity import Activity, ActivityWindow, DurationHistogram
from fastapi_taskflow.domain.status import TaskStatus

WIDTH = 640
HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 10, 34

#: The largest font size, in SVG units, the dashboard's stylesheet gives the labels (on narrow
#: screens, where the chart is drawn small). Labels are placed so that they fit at that size.
LARGEST_LABEL_FONT = 20
#: A generous average width of a character, in font sizes, for fitting labels.
_CHAR_WIDTH = 0.6
#: Most time labels under an activity chart.
_MAX_TIME_LABELS = 8
#: Steps between time labels within a day (seconds; each divides a day), then in days.
_CLOCK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200)
_DAY_STEPS = (1, 2, 7, 14, 28, 91, 182, 364)
#: Bin edges (seconds) the durations chart labels, where the histogram has them.
_DURATION_TICKS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 3600.0)

#: Stacking order of the activity chart, bottom up, with the fallback colours.
_SERIES: tuple[tuple[str, tuple[TaskStatus, ...], str], ...] = (
    ("success", (TaskStatus.SUCCESS,), "#2f9e44"),
    ("failed", (TaskStatus.FAILED,), "#e03131"),
    (
        "other",
        (TaskStatus.INTERRUPTED, TaskStatus.CANCELLED, TaskStatus.REJECTED),
        "#868e96",
    ),
)


def activity_svg(activity: Activity, zone: tzinfo) -> str:
    """Stacked bars of the tasks that finished in each bucket: succeeded, failed, other."""
    window = activity.window
    totals = [sum(bucket.values()) for bucket in activity.buckets]
    top = _nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / window.count
    bar_w = max(slot * 0.8, 1.0)
    parts = [_axes(top, plot_h)]
    starts = window.starts()
    for index, bucket in enumerate(activity.buckets):
        x = _LEFT + index * slot + (slot - bar_w) / 2
        y = float(_TOP + plot_h)
        start = starts[index].astimezone(zone)
        label = f"{_stamp(start, window.bucket.total_seconds())}"
        for name, statuses, colour in _SERIES:
            count = sum(bucket.get(status, 0) for status in statuses)
            if not count:
                continue
            height = plot_h * count / top
            y -= height
            parts.append(
                f'<rect class="chart-bar chart-bar-{name}" fill="{colour}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}: {count} {name}</title></rect>"
            )
    for moment, text, minor in _time_ticks(window, zone):
        x = _LEFT + (moment - window.start) / window.bucket * slot
        parts.append(_tick(x, text, minor))
    summary = f"{sum(totals)} tasks finished; most in one interval: {max(totals, default=0)}"
    return _svg("Tasks finished over time", summary, parts)


def durations_svg(histogram: DurationHistogram) -> str:
    """Bars of how many tasks took how long, one per bin, on a logarithmic time axis."""
    top = _nice_ceiling(max(histogram.counts, default=0))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    bins = len(histogram.counts)
    slot = plot_w / bins
    bar_w = max(slot * 0.8, 1.0)
    labels = bin_labels(histogram.edges)
    parts = [_axes(top, plot_h)]
    for index, count in enumerate(histogram.counts):
        x = _LEFT + index * slot + (slot - bar_w) / 2
        if count:
            height = plot_h * count / top
            parts.append(
                f'<rect class="chart-bar chart-bar-duration" fill="#1c7ed6" x="{x:.1f}" '
                f'y="{_TOP + plot_h - height:.1f}" width="{bar_w:.1f}" height="{height:.1f}">'
                f"<title>{escape(labels[index])}: {count} tasks</title></rect>"
            )
    # Edges sit between bars: edge i is where bin i ends and bin i + 1 begins.
    ticks = [i for i, edge in enumerate(histogram.edges) if edge in _DURATION_TICKS]
    if len(ticks) < 2:
        ticks = list(range(0, len(histogram.edges), 3))
    for order, index in enumerate(ticks):
        x = _LEFT + (index + 1) * slot
        if _fits(x, format_seconds(histogram.edges[index])):
            parts.append(_tick(x, format_seconds(histogram.edges[index]), order % 2 == 1))
    return _svg("Task durations", f"{histogram.total} tasks with a duration", parts)


def bin_labels(edges: Sequence[float]) -> list[str]:
    """``< 1 ms``, ``1 ms to 2.5 ms``, ..., ``> 1 h``: one label per bin."""
    labels = [f"< {format_seconds(edges[0])}"]
    labels += [
        f"{format_seconds(low)} to {format_seconds(high)}"
        for low, high in itertools.pairwise(edges)
    ]
    labels.append(f"> {format_seconds(edges[-1])}")
    return labels


def format_seconds(seconds: float) -> str:
    """A short duration: ``2.5 ms``, ``250 ms``, ``10 s``, ``5 min``, ``1 h``."""
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return max(factor * step, 1)
        step *= 10


def _axes(top: int, plot_h: float) -> str:
    base = _TOP + plot_h
    return (
        f'<line class="chart-axis" stroke="#adb5bd" x1="{_LEFT}" y1="{base:.1f}" '
        f'x2="{WIDTH - _RIGHT}" y2="{base:.1f}"/>'
        f'<text class="chart-label" x="{_LEFT - 6}" y="{_TOP + 4}" '
        f'text-anchor="end">{count_label(top)}</text>'
        f'<text class="chart-label" x="{_LEFT - 6}" y="{base:.1f}" text-anchor="end">0</text>'
    )


def count_label(count: int) -> str:
    """A count short enough for the axis: ``500``, ``2k``, ``1M`` (a scale's top is round)."""
    if count >= 1000:
        for size, suffix in ((1_000_000, "M"), (1000, "k")):
            if count % size == 0:
                return f"{count // size}{suffix}"
    return str(count)


def _tick(x: float, text: str, minor: bool) -> str:
    """A mark under the axis at ``x`` and its label; minor labels may be hidden when small."""
    base = _TOP + (HEIGHT - _TOP - _BOTTOM)
    kind = "chart-label chart-label-minor" if minor else "chart-label"
    return (
        f'<line class="chart-axis chart-tick" stroke="#adb5bd" x1="{x:.1f}" y1="{base}" '
        f'x2="{x:.1f}" y2="{base + 4}"/>'
        f'<text class="{kind}" x="{x:.1f}" y="{HEIGHT - 14}" text-anchor="middle">'
        f"{escape(text)}</text>"
    )


def _fits(x: float, text: str) -> bool:
    """Whether a label centred on ``x`` stays inside the chart at the largest font."""
    half = len(text) * _CHAR_WIDTH * LARGEST_LABEL_FONT / 2
    return x - half >= 0 and x + half <= WIDTH


def _time_ticks(window: ActivityWindow, zone: tzinfo) -> list[tuple[datetime, str, bool]]:
    """Round local times in the window (on the hour, at midnight, ...), each with its label
    and whether it is a minor one; at most ``_MAX_TIME_LABELS``, all of them fitting.

    Minor is every other step counted from a fixed origin, so a label keeps its rank while
    the window slides."""
    span = (window.end - window.start).total_seconds()
    wanted = span / _MAX_TIME_LABELS
    first = window.start.astimezone(zone).date()
    last = window.end.astimezone(zone).date()
    clock = next((step for step in _CLOCK_STEPS if step >= wanted), None)
    candidates: Iterator[tuple[datetime, int]]
    if clock is not None:
        per_day = 86400 // clock
        candidates = (
            (_local(day, index * clock, zone), day.toordinal() * per_day + index)
            for day in _days(first, last, 1)
            for index in range(per_day)
        )
    else:
        days = next((d for d in _DAY_STEPS if d * 86400 >= wanted), math.ceil(wanted / 86400))
        candidates = (
            (_local(day, 0, zone), (day.toordinal() - 1) // days)
            for day in _days(first, last, days)
        )
    ticks: list[tuple[datetime, str, bool]] = []
    seen: set[datetime] = set()
    slot = (WIDTH - _LEFT - _RIGHT) / window.count
    for moment, rank in candidates:
        # A wall time skipped by a DST change lands on the same instant as the next one.
        if not window.start <= moment < window.end or moment in seen:
            continue
        seen.add(moment)
        local = moment.astimezone(zone)
        if clock is not None and (local.hour, local.minute) != (0, 0):
            text = local.strftime("%H:%M")
        else:
            text = local.strftime("%Y-%m-%d" if span > 300 * 86400 else "%b %d")
        if _fits(_LEFT + (moment - window.start) / window.bucket * slot, text):
            ticks.append((moment, text, rank % 2 == 1))
    return ticks


def _local(day: date, seconds: int, zone: tzinfo) -> datetime:
    """The wall time ``seconds`` after midnight of ``day`` in ``zone``."""
    return datetime.combine(day, time(), tzinfo=zone) + timedelta(seconds=seconds)


def _days(first: date, last: date, step: int) -> Iterator[date]:
    """Days from ``first`` to ``last`` whose ordinal is a multiple of ``step`` counted from
    day 1 (a Monday), so weekly labels fall on Mondays."""
    start = first.toordinal()
    start += (1 - start) % step
    for ordinal in range(start, last.toordinal() + 1, step):
        yield date.fromordinal(ordinal)


def _stamp(moment: datetime, bucket_seconds: float) -> str:
    # Days matter once a bucket spans hours; within a day the clock alone reads better.
    return moment.strftime("%b %d %H:%M" if bucket_seconds >= 3600 else "%H:%M")


def _svg(title: str, summary: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" font-size="11" '
        f'font-family="system-ui, sans-serif" fill="currentColor">'
        f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>" + "".join(parts) + "</svg>"
    )
