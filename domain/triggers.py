"""When a periodic schedule fires: fixed intervals and cron expressions in a time zone.

Every function here is pure: it takes the moment to start from and returns UTC instants, so
all instances sharing a store compute the same slots and tests need no clock at all.
"""

from __future__ import annotations

import math
import zoneinfo
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol

import attrs

from fastapi_taskflow.domain.clock_rules import as_utc

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

#: Shortest and longest interval accepted by ``every=``, in seconds.
MIN_INTERVAL = 0.001
MAX_INTERVAL = 3650 * 86400.0

#: Bound on how far a time zone's offset moves at one transition (DST moves it by one hour,
#: a few zones by two). Cron candidates are searched this far around the start, so a local
#: time repeated or skipped by a transition is never missed.
_OFFSET_SHIFT = timedelta(hours=3)

#: The ``@`` shorthands croniter understands, all of which mean five-field expressions.
_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


class Trigger(Protocol):
    """The slots of a schedule: instants, in UTC, at which it is due."""

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment``."""
        ...

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last slot at or before ``moment`` (``None`` when there is none)."""
        ...

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (``{"type": "interval", "every": 300}``)."""
        ...


def _micros(moment: datetime) -> int:
    return (as_utc(moment) - _EPOCH) // _MICROSECOND


def _check_interval(_inst: object, _attr: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"every must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"every must be a positive number of seconds, got {value!r}")
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValueError(
            f"every must be between {MIN_INTERVAL} and {MAX_INTERVAL:.0f} seconds, got {value!r}"
        )


@attrs.frozen
class IntervalTrigger:
    """Due every ``every`` seconds, on multiples of ``every`` counted from the Unix epoch.

    Aligning to the epoch (not to when a process started) is what makes the slots the same on
    every instance: ``every=300`` is due at :00, :05, :10 ... of each hour, ``every=86400`` at
    midnight UTC. Intervals are spans of real time, so time zones and DST do not apply.
    """

    every: float = attrs.field(validator=_check_interval)

    @property
    def _step(self) -> int:
        return max(1, round(self.every * 1_000_000))

    def next_after(self, moment: datetime) -> datetime:
        step = self._step
        return _EPOCH + _MICROSECOND * ((_micros(moment) // step + 1) * step)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        step = self._step
        return _EPOCH + _MICROSECOND * ((_micros(moment) // step) * step)

    def describe(self) -> dict[str, Any]:
        return {"type": "interval", "every": self.every}


def load_time_zone(name: str) -> tzinfo:
    """The IANA time zone ``name``; ``ValueError`` naming it when it is unknown."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone must be an IANA time zone name, got {name!r}")
    if name == "UTC":
        return timezone.utc  # the default works without a time zone database
    try:
        return zoneinfo.ZoneInfo(name)
    # A folder of the database ("America") or an over-long name fails as an OSError.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Paris'"
        ) from None


def _croniter() -> Any:
    try:
        from croniter import croniter
    except ImportError:  # pragma: no cover - exercised by the packaging test without extras
        raise ImportError(
            "cron schedules need croniter: pip install 'fastapi-taskflow[scheduler]'"
        ) from None
    return croniter


def _check_expression(expression: str) -> None:
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"cron must be a cron expression string, got {expression!r}")
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in _ALIASES:
            raise ValueError(
                f"unknown cron shorthand {text!r}; use one of {', '.join(sorted(_ALIASES))}"
            )
        return
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron needs five fields (minute hour day-of-month month day-of-week), got "
            f"{len(fields)} in {expression!r}"
        )


@attrs.frozen
class CronTrigger:
    """Due at the local times a five-field cron expression names, in an IANA time zone.

    Around DST changes (see the scheduling guide):

    * a local time that does not exist (the clock jumps from 02:00 to 03:00) is due once, at
      the moment of the jump;
    * a local time that happens twice (the clock falls back from 02:00 to 01:00) is due at
      its first occurrence only, unless the expression runs every hour (its hour field is
      ``*``), in which case both occurrences are real hours and both are due.
    """

    expression: str
    timezone: str = "UTC"
    _zone: tzinfo = attrs.field(init=False, repr=False, eq=False)
    _every_hour: bool = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        _check_expression(self.expression)
        croniter = _croniter()
        zone = load_time_zone(self.timezone)
        text = self.expression.strip()
        if not croniter.is_valid(text):
            raise ValueError(f"invalid cron expression {self.expression!r}")
        probe = croniter(text, datetime(2000, 1, 1))
        hours = probe.expanded[1]
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_every_hour", hours == ["*"] or len(hours) == 24)
        try:
            self.next_after(datetime(2000, 1, 1, tzinfo=timezone.utc))
        except Exception as exc:  # croniter's CroniterBadDateError: no matching date at all
            raise ValueError(f"cron expression {self.expression!r} never fires") from exc

    def next_after(self, moment: datetime) -> datetime:
        found = self._search(as_utc(moment), forward=True)
        assert found is not None  # a valid expression fires again, going forwards
        return found

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        try:
            return self._search(as_utc(moment), forward=False)
        except Exception:  # croniter found no earlier date (before its lowest year)
            return None

    def describe(self) -> dict[str, Any]:
        return {"type": "cron", "cron": self.expression.strip(), "timezone": self.timezone}

    def _search(self, moment: datetime, *, forward: bool) -> datetime | None:
        local = moment.astimezone(self._zone).replace(tzinfo=None)
        if self._steady_around(moment):
            # No transition near ``moment``: local times after it map to later instants, so
            # the first candidate that lands on the right side is the answer, unless a
            # transition sits next to that candidate.
            # croniter steps strictly past its start, so a backward walk starts just after.
            start = local if forward else local + timedelta(minutes=1)
            found = self._walk(start, moment, forward=forward, exhaustive=False)
            if found is None or self._steady_around(found):
                return found
        # Near a transition, candidates are walked from far enough on the other side of
        # ``moment`` that a repeated or skipped hour cannot hide one, and until they are so
        # far from the best one that no later one can beat it.
        start = local - _OFFSET_SHIFT if forward else local + _OFFSET_SHIFT
        return self._walk(start, moment, forward=forward, exhaustive=True)

    def _steady_around(self, moment: datetime) -> bool:
        # Transitions of one zone are months apart, so equal offsets on both sides of this
        # window mean there is none inside it.
        zone = self._zone
        return (moment - _OFFSET_SHIFT).astimezone(zone).utcoffset() == (
            moment + _OFFSET_SHIFT
        ).astimezone(zone).utcoffset()

    def _walk(
        self, start: datetime, moment: datetime, *, forward: bool, exhaustive: bool
    ) -> datetime | None:
        walk = _croniter()(self.expression.strip(), start)
        step = walk.get_next if forward else walk.get_prev
        best: datetime | None = None
        best_local: datetime | None = None
        while True:
            candidate: datetime = step(datetime)
            if best_local is not None and (
                not exhaustive or abs(candidate - best_local) > _OFFSET_SHIFT
            ):
                return best
            for instant in self._instants(candidate):
                if forward:
                    better = instant > moment and (best is None or instant < best)
                else:
                    better = instant <= moment and (best is None or instant > best)
                if better:
                    best, best_local = instant, candidate

    def _instants(self, local: datetime) -> list[datetime]:
        """The UTC instants at which the local wall-clock time ``local`` is due."""
        first = local.replace(tzinfo=self._zone, fold=0).astimezone(timezone.utc)
        second = local.replace(tzinfo=self._zone, fold=1).astimezone(timezone.utc)
        if first == second:
            return [first]
        if first.astimezone(self._zone).replace(tzinfo=None) == local:
            # The time happens twice: the clock fell back over it.
            return [first, second] if self._every_hour else [first]
        # The time never happens: the clock jumped over it. In a gap, fold=1 reads the time
        # with the offset after the jump and fold=0 with the one before, so the jump itself
        # lies between them.
        return [self._jump_between(second, first)]

    def _jump_between(self, low: datetime, high: datetime) -> datetime:
        """The instant in ``(low, high]`` at which the zone's offset changes."""
        before = low.astimezone(self._zone).utcoffset()
        lo, hi = 0, (high - low) // _MICROSECOND
        while lo + 1 < hi:
            middle = (lo + hi) // 2
            if (low + middle * _MICROSECOND).astimezone(self._zone).utcoffset() == before:
                lo = middle
            else:
                hi = middle
        return low + hi * _MICROSECOND


def make_trigger(every: float | None, cron: str | None, timezone_name: str = "UTC") -> Trigger:
    """The trigger for ``@schedule(every=...)`` or ``@schedule(cron=..., timezone=...)``.

    Raises:
        ValueError: neither or both of ``every`` and ``cron``, or an invalid one of them, or
            an unknown time zone.
        ImportError: ``cron`` without croniter installed.
    """
    if (every is None) == (cron is None):
        raise ValueError("pass exactly one of every= (seconds) or cron= (a cron expression)")
    if every is not None:
        load_time_zone(timezone_name)  # a typo fails here too, even where it has no effect
        return IntervalTrigger(every)
    assert cron is not None
    return CronTrigger(cron, timezone_name)
