"""Timestamps in the domain are always timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import attrs


def require_aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    """attrs validator: reject naive datetimes, which would be ambiguous in storage."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be timezone-aware, got naive {value!r}")


def require_optional_aware(
    _inst: object, attribute: attrs.Attribute[datetime | None], value: datetime | None
) -> None:
    """attrs validator: like :func:`require_aware`, allowing ``None``."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware, got naive {value!r}")


def as_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; a naive one is taken to already be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
