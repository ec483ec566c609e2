"""Periodic schedules: which task runs on which trigger, and what happens to missed slots."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware
from fastapi_taskflow.domain.triggers import Trigger

#: How far behind an entry's latest claimed slot a slot may still be claimed. A claim that was
#: held up longer than this (its process frozen halfway through it) is refused, so stores may
#: forget the slots claimed before it.
SLOT_HISTORY = timedelta(hours=1)


class MissedSlots(str, enum.Enum):
    """What an entry does with slots that came due while no instance was running.

    Slots an instance is merely late for (a long pause, a busy loop) are not "missed": the
    latest of them runs once when the instance catches up, unless another instance ran it.
    """

    #: Forget them; the next slot after start-up is the first to run (the default).
    SKIP = "skip"
    #: Run once at start-up for all of them together, then continue with the next slot.
    RUN_ONCE = "run_once"

    @classmethod
    def parse(cls, value: str | MissedSlots) -> MissedSlots:
        """``"skip"`` or ``"run_once"``; ``ValueError`` listing both for anything else."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(member.value) for member in cls)
            raise ValueError(f"missed must be one of {choices}, got {value!r}") from None


def _missed(value: str | MissedSlots) -> MissedSlots:
    return MissedSlots.parse(value)


@attrs.frozen(kw_only=True)
class ScheduleEntry:
    """A registered task that runs by itself whenever its trigger comes due."""

    #: The registered task's name: what storage and the dashboard show.
    name: str
    trigger: Trigger
    #: Also run once when an instance starts (each instance, at its own start-up).
    run_on_startup: bool = False
    missed: MissedSlots = attrs.field(default=MissedSlots.SKIP, converter=_missed)

    def catch_up_slot(self, last_fired: datetime | None, now: datetime) -> datetime | None:
        """The slot to run at start-up for the slots missed since ``last_fired``, if any.

        Only with :attr:`MissedSlots.RUN_ONCE`, and only for an entry that has fired before
        (a new entry has missed nothing).
        """
        if self.missed is not MissedSlots.RUN_ONCE or last_fired is None:
            return None
        latest = self.trigger.latest_at_or_before(now)
        if latest is None or latest <= last_fired:
            return None
        return latest


@attrs.frozen(kw_only=True)
class SlotClaim:
    """The latest slot of an entry that an instance claimed, and the task it started."""

    entry: str
    slot: datetime = attrs.field(validator=require_aware)
    task_id: str
