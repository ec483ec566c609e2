"""Queue limits and the Retry-After estimate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastapi_taskflow.domain.queue import (
    RETRY_AFTER_CEILING,
    RETRY_AFTER_FLOOR,
    QueueConfig,
    retry_after_seconds,
)


def test_defaults_are_unlimited_and_unfair() -> None:
    assert QueueConfig() == QueueConfig(concurrency=None, max_size=None, fair_by=None)
    assert QueueConfig(2, 10).to_dict() == {"concurrency": 2, "max_size": 10, "fair_by": None}


@pytest.mark.parametrize("field", ["concurrency", "max_size"])
@pytest.mark.parametrize("value", [0, -3, True, 2.0, "4"])
def test_limits_must_be_none_or_positive_integers(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be None or an integer >= 1"):
        QueueConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", 3, "x" * 256])
def test_fair_by_must_be_a_tag_name(value: object) -> None:
    with pytest.raises(ValueError, match="fair_by"):
        QueueConfig(fair_by=value)  # type: ignore[arg-type]


def test_retry_after_is_the_time_to_start_half_the_waiting_tasks() -> None:
    assert retry_after_seconds(waiting=10, concurrency=5, mean_duration=2.0) == 2
    assert retry_after_seconds(waiting=100, concurrency=4, mean_duration=3.0) == 38  # 37.5 up
    assert retry_after_seconds(waiting=10, concurrency=None, mean_duration=0.5) == 3
    # Nothing observed yet: one second per task is assumed.
    assert retry_after_seconds(waiting=6, concurrency=1, mean_duration=None) == 3


@given(
    waiting=st.integers(min_value=0, max_value=10**7),
    concurrency=st.one_of(st.none(), st.integers(min_value=1, max_value=10**4)),
    mean=st.one_of(st.none(), st.floats(min_value=0, allow_nan=False)),
)
def test_retry_after_stays_within_its_bounds(
    waiting: int, concurrency: int | None, mean: float | None
) -> None:
    seconds = retry_after_seconds(waiting=waiting, concurrency=concurrency, mean_duration=mean)
    assert isinstance(seconds, int)
    assert RETRY_AFTER_FLOOR <= seconds <= RETRY_AFTER_CEILING
