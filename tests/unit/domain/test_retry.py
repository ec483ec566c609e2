"""The retry schedule: how long each retry waits."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastapi_taskflow.domain.retry import RetryPolicy

delays = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
backoffs = st.floats(min_value=1.0, max_value=100.0, allow_nan=False)
retries = st.integers(min_value=0, max_value=60)


def test_documented_example_waits_one_two_four_seconds() -> None:
    policy = RetryPolicy(retries=3, delay=1.0, backoff=2.0)
    assert policy.schedule() == [1.0, 2.0, 4.0]
    assert policy.max_attempts == 4


def test_no_retries_means_one_attempt() -> None:
    policy = RetryPolicy()
    assert policy.schedule() == []
    assert policy.allows_retry(1) is False


@given(retries=retries, delay=delays, backoff=backoffs)
def test_one_wait_per_retry(retries: int, delay: float, backoff: float) -> None:
    policy = RetryPolicy(retries=retries, delay=delay, backoff=backoff)
    assert len(policy.schedule()) == retries
    assert [policy.allows_retry(n) for n in range(1, retries + 2)] == [True] * retries + [False]


@given(retries=retries, delay=delays, backoff=backoffs)
def test_waits_never_shrink_and_start_at_delay(retries: int, delay: float, backoff: float) -> None:
    waits = RetryPolicy(retries=retries, delay=delay, backoff=backoff).schedule()
    assert all(math.isfinite(w) for w in waits)
    assert waits == sorted(waits)
    if waits:
        assert waits[0] == pytest.approx(delay)


@given(
    retries=retries,
    delay=delays,
    backoff=backoffs,
    cap=st.floats(min_value=0.0, max_value=1e4),
)
def test_max_delay_caps_every_wait(retries: int, delay: float, backoff: float, cap: float) -> None:
    policy = RetryPolicy(retries=retries, delay=delay, backoff=backoff, max_delay=cap)
    assert all(w <= cap for w in policy.schedule())


@given(
    delay=st.floats(min_value=0.001, max_value=1e4),
    backoff=backoffs,
    jitter=st.floats(min_value=0.0, max_value=1.0),
    fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    retry=st.integers(min_value=1, max_value=30),
)
def test_jitter_only_shortens_within_its_fraction(
    delay: float, backoff: float, jitter: float, fraction: float, retry: int
) -> None:
    plain = RetryPolicy(retries=30, delay=delay, backoff=backoff)
    jittered = RetryPolicy(retries=30, delay=delay, backoff=backoff, jitter=jitter)
    base = plain.delay_before(retry)
    wait = jittered.delay_before(retry, fraction)
    assert base * (1 - jitter) - 1e-9 * base <= wait <= base


def test_huge_backoff_stays_finite() -> None:
    policy = RetryPolicy(retries=1000, delay=1.0, backoff=100.0)
    assert math.isfinite(policy.delay_before(1000))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"retries": 1.5}, "retries must be an integer >= 0"),
        ({"delay": -0.1}, "delay must be a finite number >= 0"),
        ({"delay": float("inf")}, "delay must be a finite number >= 0"),
        ({"backoff": 0}, "backoff must be a finite number > 0"),
        ({"max_delay": -1.0}, "max_delay must be None or a finite number >= 0"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        RetryPolicy(retries=1, delay=1).delay_before(0)
