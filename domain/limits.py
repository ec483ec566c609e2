"""Sizes every store can hold exactly, so no database truncates or rejects a value later."""

from __future__ import annotations

#: Longest task name, idempotency key, tag key or tag value, in characters. Stores index these
#: values, and index entries have a size limit (MySQL's is the tightest).
MAX_NAME_LENGTH = 255


def check_length(what: str, value: str) -> None:
    """Reject ``value`` when it is longer than :data:`MAX_NAME_LENGTH`."""
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(
            f"{what} must be at most {MAX_NAME_LENGTH} characters, got {len(value)}: "
            f"{value[:40]!r}..."
        )
