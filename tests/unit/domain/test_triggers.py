"""When schedules are due: epoch-aligned intervals, and cron in a time zone across DST."""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from fastapi_taskflow.domain.triggers import (
    CronTrigger,
    IntervalTrigger,
    load_time_zone,
    make_trigger,
)

UTC = timezone.utc
NEW_YORK = "America/New_York"

moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)
intervals = st.sampled_from([0.001, 0.3, 1, 7.5, 60, 300, 3600, 86400, 7 * 86400])

#: Zones with ordinary DST, half-hour DST (Lord Howe), DST at midnight (Havana), DST in the
#: southern summer (Sydney, Santiago), none (Kolkata) and offsets off the hour (Chatham).
ZONES = [
    "UTC",
    NEW_YORK,
    "Europe/London",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "America/Havana",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
]
#: Frequent enough that a minute-by-minute oracle can check the gap between two slots.
FREQUENT = ["* * * * *", "*/15 * * * *", "15 * * * *", "30 1 * * *", "0 2 * * *", "0,30 0-3 * * *"]


def local(moment: datetime, zone: str = NEW_YORK) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M%z")


def walk(trigger: CronTrigger, start: datetime, count: int) -> list[str]:
    found = []
    for _ in range(count):
        start = trigger.next_after(start)
        found.append(local(start, trigger.timezone))
    return found


@functools.cache
def minute_matcher(expression: str) -> Callable[[datetime], bool]:
    """Whether a local time matches an expression that constrains only minutes and hours.

    Read from croniter's parse, not its iteration, so the oracle below is independent of the
    code under test, and fast enough to check every minute between two slots.
    """
    minutes, hours = croniter(expression).expanded[:2]
    wanted = {
        (hour, minute)
        for hour in (range(24) if hours == ["*"] else hours)
        for minute in (range(60) if minutes == ["*"] else minutes)
    }
    return lambda naive: (naive.hour, naive.minute) in wanted and naive.second == 0


def is_due(trigger: CronTrigger, instant: datetime) -> bool:
    """The oracle: the documented rule applied to one instant."""
    matches = minute_matcher(trigger.expression)
    zone = ZoneInfo(trigger.timezone)
    wall = instant.astimezone(zone)
    naive = wall.replace(tzinfo=None)
    every_hour = trigger.expression.split()[1] == "*"
    if matches(naive):
        repeated = naive.replace(tzinfo=zone, fold=0).astimezone(UTC) != instant
        if not repeated or every_hour:
            return True
    # The instant right after a jump is due for the local times the jump skipped.
    before = (instant - timedelta(microseconds=1)).astimezone(zone)
    skipped = wall.utcoffset() - before.utcoffset()  # type: ignore[operator]
    if skipped > timedelta(0):
        first = before.replace(tzinfo=None) + timedelta(microseconds=1)
        minute = first.replace(second=0, microsecond=0)
        if minute < first:
            minute += timedelta(minutes=1)
        while minute < first + skipped:
            if matches(minute):
                return True
            minute += timedelta(minutes=1)
    return False


@functools.cache
def offset_changes(zone_name: str, year: int) -> list[datetime]:
    """Noon (UTC) of each day of ``year`` after which the zone's offset differs."""
    zone = ZoneInfo(zone_name)
    noon = datetime(year, 1, 1, 12, tzinfo=UTC)
    days = [noon + timedelta(days=n) for n in range(366)]
    return [
        day
        for day, following in itertools.pairwise(days)
        if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset()
    ]


@st.composite
def near_transitions(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a moment within a day and a half of one of its offset changes."""
    zone_name = draw(st.sampled_from(ZONES))
    year = draw(st.integers(min_value=1995, max_value=2045))
    changes = offset_changes(zone_name, year)
    around = draw(st.sampled_from(changes)) if changes else datetime(year, 7, 1, tzinfo=UTC)
    offset = draw(st.integers(min_value=-36 * 3600, max_value=36 * 3600))
    return zone_name, around + timedelta(seconds=offset)


# -- intervals -----------------------------------------------------------------------------


def test_intervals_are_aligned_to_the_epoch_so_every_instance_agrees() -> None:
    trigger = IntervalTrigger(300)
    moment = datetime(2026, 5, 4, 10, 7, 12, tzinfo=UTC)

    assert trigger.next_after(moment) == datetime(2026, 5, 4, 10, 10, tzinfo=UTC)
    assert trigger.latest_at_or_before(moment) == datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    assert trigger.next_after(datetime(2026, 5, 4, 10, 10, tzinfo=UTC)) == datetime(
        2026, 5, 4, 10, 15, tzinfo=UTC
    )


@given(every=intervals, moment=moments)
def test_interval_slots_surround_any_moment(every: float, moment: datetime) -> None:
    trigger = IntervalTrigger(every)
    following = trigger.next_after(moment)
    latest = trigger.latest_at_or_before(moment)

    assert latest is not None
    assert latest <= moment < following
    assert following - latest == timedelta(seconds=every)
    assert trigger.next_after(latest) == following
    assert trigger.latest_at_or_before(following) == following


@given(moment=moments, zone=st.sampled_from(ZONES))
def test_interval_slots_ignore_time_zones_and_dst(moment: datetime, zone: str) -> None:
    trigger = IntervalTrigger(3600)
    shifted = moment.astimezone(ZoneInfo(zone))

    assert trigger.next_after(shifted) == trigger.next_after(moment)
    assert trigger.next_after(moment).tzinfo == UTC


@pytest.mark.parametrize("every", [0, -5, float("nan"), float("inf"), 1e-4, 1e12, True, "60"])
def test_invalid_intervals_are_refused(every: object) -> None:
    with pytest.raises(ValueError, match="every"):
        IntervalTrigger(every)  # type: ignore[arg-type]


# -- cron ----------------------------------------------------------------------------------


def test_cron_runs_at_the_local_time_of_its_zone() -> None:
    trigger = CronTrigger("0 9 * * 1-5", NEW_YORK)
    friday_noon_utc = datetime(2026, 6, 5, 12, tzinfo=UTC)

    assert walk(trigger, friday_noon_utc, 2) == ["2026-06-05 09:00-0400", "2026-06-08 09:00-0400"]
    assert CronTrigger("0 9 * * *").next_after(friday_noon_utc) == datetime(
        2026, 6, 6, 9, tzinfo=UTC
    )


def test_a_skipped_local_time_runs_once_when_the_clock_jumps() -> None:
    trigger = CronTrigger("30 2 * * *", NEW_YORK)  # 2026-03-08: 02:00 jumps to 03:00

    assert walk(trigger, datetime(2026, 3, 7, 12, tzinfo=UTC), 3) == [
        "2026-03-08 03:00-0400",
        "2026-03-09 02:30-0400",
        "2026-03-10 02:30-0400",
    ]


def test_a_frequent_schedule_keeps_its_real_spacing_through_a_jump() -> None:
    trigger = CronTrigger("*/15 * * * *", NEW_YORK)

    assert walk(trigger, datetime(2026, 3, 8, 6, 40, tzinfo=UTC), 3) == [
        "2026-03-08 01:45-0500",
        "2026-03-08 03:00-0400",
        "2026-03-08 03:15-0400",
    ]


def test_a_repeated_local_time_runs_once_for_a_daily_schedule() -> None:
    trigger = CronTrigger("30 1 * * *", NEW_YORK)  # 2026-11-01: 02:00 falls back to 01:00

    assert walk(trigger, datetime(2026, 10, 31, 12, tzinfo=UTC), 2) == [
        "2026-11-01 01:30-0400",
        "2026-11-02 01:30-0500",
    ]


def test_an_hourly_schedule_runs_in_both_passes_of_a_repeated_hour() -> None:
    trigger = CronTrigger("15 * * * *", NEW_YORK)

    assert walk(trigger, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 4) == [
        "2026-11-01 01:15-0400",
        "2026-11-01 01:15-0500",
        "2026-11-01 02:15-0500",
        "2026-11-01 03:15-0500",
    ]


def test_half_hour_dst_shifts_are_handled() -> None:
    trigger = CronTrigger("15 2 * * *", "Australia/Lord_Howe")  # 2026-10-04: 02:00 -> 02:30

    assert walk(trigger, datetime(2026, 10, 3, 0, tzinfo=UTC), 2) == [
        "2026-10-04 02:30+1100",
        "2026-10-05 02:15+1100",
    ]


def test_the_latest_slot_before_a_moment() -> None:
    trigger = CronTrigger("0 2 * * *", "Europe/Paris")

    latest = trigger.latest_at_or_before(datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert latest == datetime(2026, 7, 1, 0, tzinfo=UTC)
    assert trigger.latest_at_or_before(latest) == latest


@settings(max_examples=300, deadline=None)
@given(expression=st.sampled_from(FREQUENT), where=near_transitions())
def test_no_due_minute_is_skipped_and_nothing_else_fires(
    expression: str, where: tuple[str, datetime]
) -> None:
    zone, moment = where
    trigger = CronTrigger(expression, zone)
    following = trigger.next_after(moment)

    assert following > moment
    assert is_due(trigger, following)
    minute = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < following:
        assert not is_due(trigger, minute), f"{minute} was due but skipped"
        minute += timedelta(minutes=1)


@settings(max_examples=200, deadline=None)
@given(
    expression=st.sampled_from([*FREQUENT, "0 0 1 * *", "0 12 * * 0", "@daily", "@hourly"]),
    where=st.one_of(near_transitions(), st.tuples(st.sampled_from(ZONES), moments)),
)
def test_next_and_latest_slots_agree(expression: str, where: tuple[str, datetime]) -> None:
    zone, moment = where
    trigger = CronTrigger(expression, zone)
    following = trigger.next_after(moment)
    latest = trigger.latest_at_or_before(moment)

    assert latest is not None
    assert latest <= moment < following
    assert trigger.next_after(latest) == following  # no slot hides between them
    assert trigger.latest_at_or_before(following) == following
    assert following.tzinfo == UTC and latest.tzinfo == UTC


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "five fields"),
        ("*/5 * * * * *", "five fields"),
        ("61 * * * *", "invalid cron"),
        ("0 0 31 2 *", "never fires"),
        ("@sometimes", "shorthand"),
        ("", "cron expression"),
    ],
)
def test_invalid_cron_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CronTrigger(expression)


def test_an_unknown_time_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        CronTrigger("0 2 * * *", "Mars/Olympus_Mons")


@pytest.mark.parametrize("name", ["America", "Europe/", "x" * 300])
def test_a_folder_of_the_zone_database_or_an_overlong_name_is_an_unknown_zone(name: str) -> None:
    # The database opens these as paths: a folder or a name the file system refuses.
    with pytest.raises(ValueError, match="unknown time zone"):
        load_time_zone(name)


def test_cron_without_croniter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "croniter", None)

    with pytest.raises(ImportError, match=r"fastapi-taskflow\[scheduler\]"):
        CronTrigger("0 2 * * *")
    assert IntervalTrigger(60).every == 60  # intervals need nothing extra


# -- choosing a trigger --------------------------------------------------------------------


def test_exactly_one_of_every_and_cron() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        make_trigger(None, None)
    with pytest.raises(ValueError, match="exactly one"):
        make_trigger(60, "0 2 * * *")
    assert make_trigger(60, None) == IntervalTrigger(60)
    assert make_trigger(None, "@hourly", NEW_YORK) == CronTrigger("@hourly", NEW_YORK)


def test_a_time_zone_typo_fails_even_with_an_interval() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        make_trigger(60, None, "Europe/Pariss")


def test_triggers_describe_themselves_for_the_api() -> None:
    assert IntervalTrigger(300).describe() == {"type": "interval", "every": 300}
    assert CronTrigger(" 0 2 * * * ", "Europe/Paris").describe() == {
        "type": "cron",
        "cron": "0 2 * * *",
        "timezone": "Europe/Paris",
    }
