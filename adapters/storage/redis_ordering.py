"""How the Redis store orders tasks: index members that sort by (created_at, task_id).

Redis compares sorted-set members byte by byte when their scores are equal. A member is the
creation time in UTC, written with a fixed width, then ``|`` and the task id, so byte order
is creation order with ties broken by task id (UTF-8 bytes sort like the code points Python
compares). Pages are read from the newest member down with ``ZREVRANGEBYLEX``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskQuery

#: Width of a creation stamp, ``YYYY-MM-DDTHH:MM:SS.ffffff``.
STAMP_WIDTH = 26

#: Where the task id starts in a member (1-based, for Lua's ``string.sub``).
ID_OFFSET = STAMP_WIDTH + 2

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: The lowest and highest bounds of a lexicographic range.
LOWEST = "-"
HIGHEST = "+"


def stamp(moment: datetime) -> str:
    """``moment`` in UTC with a fixed width, so stamps sort as the instants do."""
    utc = as_utc(moment)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def from_stamp(text: str) -> datetime:
    """The UTC instant :func:`stamp` wrote as ``text``."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)


def member(created_at: datetime, task_id: str) -> str:
    """The index member of a task."""
    return f"{stamp(created_at)}|{task_id}"


def microseconds(moment: datetime) -> int:
    """Whole microseconds since the epoch: an exact sorted-set score for ``moment``."""
    delta = as_utc(moment) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_microseconds(count: int) -> datetime:
    """The UTC instant :func:`microseconds` gave ``count`` for."""
    return _EPOCH + timedelta(microseconds=count)


@attrs.frozen
class LexRange:
    """Bounds for ``ZREVRANGEBYLEX key high low`` (and ``ZLEXCOUNT key low high``)."""

    low: str = LOWEST
    high: str = HIGHEST


def page_range(query: TaskQuery, cursor: Cursor | None) -> LexRange:
    """The members a query may return: its creation window, below the cursor."""
    low = LOWEST if query.created_after is None else "[" + stamp(query.created_after)
    # A bare stamp sorts before every member carrying it, so "(" + stamp excludes that
    # instant itself (created_before is exclusive) and "[" + stamp includes it.
    highs = []
    if query.created_before is not None:
        highs.append("(" + stamp(query.created_before))
    if cursor is not None:
        highs.append("(" + member(cursor.created_at, cursor.task_id))
    high = min(highs, key=lambda bound: bound.encode()) if highs else HIGHEST
    return LexRange(low=low, high=high)
