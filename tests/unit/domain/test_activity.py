"""Chart windows line up on bucket boundaries; durations land in the right bins."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.activity import (
    DURATION_EDGES,
    ActivityWindow,
    DurationHistogram,
    duration_bin,
    trailing_window,
)

NOW = datetime(2026, 3, 1, 12, 34, 56, tzinfo=timezone.utc)


def test_a_trailing_window_ends_on_the_boundary_after_now() -> None:
    window = trailing_window(NOW, timedelta(hours=24), 48)

    assert window.bucket == timedelta(minutes=30)
    assert window.end == datetime(2026, 3, 1, 13, 0, tzinfo=timezone.utc)
    assert window.start == window.end - timedelta(hours=24)
    assert window.index_of(NOW) == 47
    # A refresh a minute later shows the same bars.
    assert trailing_window(NOW + timedelta(minutes=1), timedelta(hours=24), 48) == window


def test_buckets_hold_their_start_but_not_their_end() -> None:
    window = ActivityWindow(start=NOW, bucket=timedelta(minutes=1), count=2)

    assert window.index_of(NOW) == 0
    assert window.index_of(NOW + timedelta(seconds=59.999)) == 0
    assert window.index_of(NOW + timedelta(minutes=1)) == 1
    assert window.index_of(NOW + timedelta(minutes=2)) is None
    assert window.index_of(NOW - timedelta(microseconds=1)) is None


def test_tiny_spans_get_one_second_buckets() -> None:
    assert trailing_window(NOW, timedelta(seconds=10), 100).bucket == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("span", "count"), [(timedelta(0), 10), (timedelta(hours=-1), 10), (timedelta(hours=1), 0)]
)
def test_a_window_must_span_time(span: timedelta, count: int) -> None:
    with pytest.raises(ValueError):
        trailing_window(NOW, span, count)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.0, 0), (0.0009, 0), (0.001, 1), (0.0011, 1), (3599.0, 17), (3600.0, 18), (1e9, 18)],
)
def test_durations_fall_in_half_open_bins(seconds: float, expected: int) -> None:
    assert duration_bin(seconds) == expected


def test_a_histogram_has_one_more_count_than_edges() -> None:
    assert DurationHistogram(counts=(0,) * (len(DURATION_EDGES) + 1)).total == 0
    with pytest.raises(ValueError, match="counts"):
        DurationHistogram(counts=(1, 2))
