"""Retention: how long finished tasks are kept, and the cut-off that follows from it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

#: Seconds between two retention runs unless configured otherwise (six hours).
DEFAULT_RETENTION_INTERVAL = 6 * 3600.0

#: Largest ``retention_days`` accepted (about a century), so the cut-off stays within every
#: store's range of dates (MySQL's starts at year 1000).
MAX_RETENTION_DAYS = 36_500.0


def checked_retention_days(value: float | None) -> float | None:
    """``value`` if it is ``None`` or a finite number of days > 0.

    Raises:
        ValueError: for anything else (zero, a negative or infinite number, a bool, a string).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"retention_days must be None or a number > 0, got {value!r}")
    if not math.isfinite(value) or not 0 < value <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"retention_days must be None or a number > 0 and at most "
            f"{MAX_RETENTION_DAYS:g}, got {value!r}"
        )
    return float(value)


def checked_retention_interval(value: float) -> float:
    """``value`` if it is a finite number of seconds > 0.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"retention_interval must be a number of seconds > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"retention_interval must be a number of seconds > 0, got {value!r}")
    return float(value)


def retention_cutoff(now: datetime, days: float) -> datetime:
    """Tasks that ended before this instant are old enough to delete."""
    return now - timedelta(days=days)
