"""The time limit of one attempt of a task."""

from __future__ import annotations

import math


def checked_timeout(value: object) -> float | None:
    """``value`` as a number of seconds, or ``None`` for no limit.

    Raises:
        ValueError: ``value`` is not a finite number greater than zero (booleans are refused,
            though Python counts them as numbers).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"timeout must be a number of seconds or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"timeout must be a finite number of seconds above 0, got {value!r}")
    return float(value)
