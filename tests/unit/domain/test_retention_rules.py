"""Retention periods and the cut-off they give, for any valid input."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastapi_taskflow.domain.retention import (
    MAX_RETENTION_DAYS,
    checked_retention_days,
    checked_retention_interval,
    retention_cutoff,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
days = st.floats(min_value=1e-6, max_value=MAX_RETENTION_DAYS, allow_nan=False)


@given(days)
def test_any_positive_period_up_to_a_century_is_accepted(value: float) -> None:
    assert checked_retention_days(value) == value


@given(days, days)
def test_a_longer_period_never_gives_a_later_cutoff(a: float, b: float) -> None:
    shorter, longer = sorted((a, b))
    assert retention_cutoff(NOW, longer) <= retention_cutoff(NOW, shorter) < NOW


@given(days)
def test_the_cutoff_is_exactly_that_many_days_back(value: float) -> None:
    cutoff = retention_cutoff(NOW, value)
    assert cutoff.tzinfo is not None
    assert abs((NOW - cutoff) - timedelta(days=value)) < timedelta(microseconds=1)
    assert cutoff.year >= 1000  # within every store's range of dates


@pytest.mark.parametrize("bad", [0, -0.5, math.nan, math.inf, False, "1", MAX_RETENTION_DAYS * 2])
def test_other_periods_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        checked_retention_days(bad)  # type: ignore[arg-type]


def test_none_keeps_history_forever() -> None:
    assert checked_retention_days(None) is None


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan, True, "60"])
def test_the_interval_must_be_a_positive_number_of_seconds(bad: object) -> None:
    with pytest.raises(ValueError, match="retention_interval"):
        checked_retention_interval(bad)  # type: ignore[arg-type]
