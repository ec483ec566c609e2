"""Server-rendered charts: well-formed SVG, bars sized by count, escaped text, local times."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.domain.activity import (
    DURATION_EDGES,
    Activity,
    ActivityWindow,
    DurationHistogram,
    trailing_window,
)
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.entrypoints.fastapi.charts import (
    LARGEST_LABEL_FONT,
    WIDTH,
    activity_svg,
    bin_labels,
    count_label,
    durations_svg,
    format_seconds,
)

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)


def bars(markup: str) -> list[ET.Element]:
    return [rect for rect in ET.fromstring(markup).iter(f"{SVG}rect")]


def axis_labels(markup: str) -> list[ET.Element]:
    """The labels under the plot (time or duration), left to right."""
    texts = ET.fromstring(markup).iter(f"{SVG}text")
    return [text for text in texts if text.get("text-anchor") == "middle"]


def empty_activity(window: ActivityWindow, zone: str = "UTC") -> str:
    return activity_svg(
        Activity(window=window, buckets=({},) * window.count), zoneinfo.ZoneInfo(zone)
    )


def test_activity_bars_stack_by_outcome_and_scale_to_the_busiest_interval() -> None:
    window = ActivityWindow(start=T0, bucket=timedelta(hours=1), count=3)
    activity = Activity(
        window=window,
        buckets=(
            {TaskStatus.SUCCESS: 8, TaskStatus.FAILED: 2},
            {},
            {TaskStatus.CANCELLED: 1, TaskStatus.INTERRUPTED: 1},
        ),
    )

    markup = activity_svg(activity, zoneinfo.ZoneInfo("Europe/Paris"))

    found = {rect.get("class"): float(rect.get("height") or 0) for rect in bars(markup)}
    assert set(found) == {
        "chart-bar chart-bar-success",
        "chart-bar chart-bar-failed",
        "chart-bar chart-bar-other",
    }
    # The tallest stack (10) reaches the top of the scale, which is 10.
    assert found["chart-bar chart-bar-success"] == 4 * found["chart-bar chart-bar-failed"]
    titles = [title.text for title in ET.fromstring(markup).iter(f"{SVG}title")]
    # Labels are in the viewer's zone: 10:00 UTC is noon in Paris in July.
    assert "Jul 01 12:00: 8 success" in titles
    assert "Jul 01 14:00: 2 other" in titles


def test_an_empty_activity_chart_is_still_valid_svg() -> None:
    window = ActivityWindow(start=T0, bucket=timedelta(minutes=5), count=12)
    markup = activity_svg(Activity(window=window, buckets=({},) * 12), timezone.utc)
    assert bars(markup) == []
    assert "0 tasks finished" in markup


def test_duration_bars_are_labelled_with_their_range() -> None:
    counts = [0] * (len(DURATION_EDGES) + 1)
    counts[0], counts[9], counts[-1] = 3, 5, 1
    markup = durations_svg(DurationHistogram(counts=tuple(counts)))

    titles = [title.text for title in ET.fromstring(markup).iter(f"{SVG}title")]
    assert "< 1 ms: 3 tasks" in titles
    assert "500 ms to 1 s: 5 tasks" in titles
    assert "> 1 h: 1 tasks" in titles
    assert len(bars(markup)) == 3


def test_durations_read_in_natural_units() -> None:
    assert [format_seconds(s) for s in (0.0025, 0.25, 10, 300, 3600)] == [
        "2.5 ms",
        "250 ms",
        "10 s",
        "5 min",
        "1 h",
    ]
    labels = bin_labels(DURATION_EDGES)
    assert len(labels) == len(DURATION_EDGES) + 1
    assert labels[1] == "1 ms to 2.5 ms"


def test_time_labels_fall_on_round_local_times_placed_by_time() -> None:
    # 24 h in half hours from 10:00 UTC: in Kolkata (+5:30) that is 15:30 to 15:30.
    window = ActivityWindow(start=T0, bucket=timedelta(minutes=30), count=48)

    labels = axis_labels(empty_activity(window, "Asia/Kolkata"))

    # Every three hours, midnight showing the date; 15:30 itself is not a round time, and
    # 15:00, half an hour before the right edge, would not fit.
    assert [label.text for label in labels] == [
        "18:00",
        "21:00",
        "Jul 02",
        "03:00",
        "06:00",
        "09:00",
        "12:00",
    ]
    # 18:00 local is 2.5 h (five buckets) after the start, between two bars.
    slot = (WIDTH - 44 - 8) / 48
    assert float(labels[0].get("x") or 0) == pytest.approx(44 + 5 * slot, abs=0.05)


def test_every_other_label_is_minor_by_its_time_so_ranks_stay_as_the_window_slides() -> None:
    def minor_of(start: datetime) -> dict[str, bool]:
        window = ActivityWindow(start=start, bucket=timedelta(minutes=5), count=12)
        return {
            label.text or "": "chart-label-minor" in (label.get("class") or "")
            for label in axis_labels(empty_activity(window))
        }

    now, later = minor_of(T0), minor_of(T0 + timedelta(minutes=10))

    assert list(now.values())[:4] == [False, True, False, True]
    assert all(now[text] == later[text] for text in now.keys() & later.keys())


@pytest.mark.parametrize(
    ("span", "count"),
    [
        (timedelta(hours=1), 12),
        (timedelta(hours=6), 36),
        (timedelta(hours=24), 48),
        (timedelta(days=7), 56),
        (timedelta(days=365), 200),
        (timedelta(days=36500), 200),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata", "Pacific/Chatham"])
def test_labels_fit_inside_the_chart_and_do_not_repeat(
    span: timedelta, count: int, zone: str
) -> None:
    # The Sunday Europe moves its clocks forward: a day of 23 hours.
    window = trailing_window(datetime(2026, 3, 29, 9, 47, tzinfo=timezone.utc), span, count)

    labels = axis_labels(empty_activity(window, zone))

    assert 2 <= len(labels) <= 8
    texts = [label.text or "" for label in labels]
    assert len(set(texts)) == len(texts)
    for label, text in zip(labels, texts, strict=True):
        half = len(text) * 0.6 * LARGEST_LABEL_FONT / 2
        x = float(label.get("x") or 0)
        assert x - half >= 0 and x + half <= WIDTH, (text, x)
    xs = [float(label.get("x") or 0) for label in labels]
    assert xs == sorted(xs)


def test_a_dst_change_moves_the_labels_with_the_clock() -> None:
    # Paris, 29 March 2026: 02:00 does not exist; 03:00 follows midnight after two hours.
    start = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)
    window = ActivityWindow(start=start, bucket=timedelta(hours=1), count=24)

    texts = [label.text for label in axis_labels(empty_activity(window, "Europe/Paris"))]

    assert texts == ["15:00", "18:00", "21:00", "Mar 29", "03:00", "06:00", "09:00", "12:00"]


def test_the_scale_top_is_short_enough_for_the_axis() -> None:
    assert [count_label(n) for n in (1, 500, 5000, 10_000, 500_000, 2_000_000)] == [
        "1",
        "500",
        "5k",
        "10k",
        "500k",
        "2M",
    ]
    window = ActivityWindow(start=T0, bucket=timedelta(hours=1), count=1)
    markup = activity_svg(
        Activity(window=window, buckets=({TaskStatus.SUCCESS: 15_000},)), timezone.utc
    )
    assert "20k" in [text.text for text in ET.fromstring(markup).iter(f"{SVG}text")]


def test_duration_labels_mark_the_bin_edges_in_round_units() -> None:
    markup = durations_svg(DurationHistogram(counts=(1,) * (len(DURATION_EDGES) + 1)))

    labels = axis_labels(markup)

    assert [label.text for label in labels] == [
        "1 ms",
        "10 ms",
        "100 ms",
        "1 s",
        "10 s",
        "1 min",
        "1 h",
    ]
    # "1 s" is the edge between the bar of 500 ms to 1 s and the bar of 1 s to 2.5 s.
    slot = (WIDTH - 44 - 8) / (len(DURATION_EDGES) + 1)
    assert float(labels[3].get("x") or 0) == pytest.approx(44 + 10 * slot, abs=0.05)
