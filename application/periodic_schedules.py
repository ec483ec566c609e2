"""Firing periodic entries: each slot is claimed in storage, so it runs once across instances."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.schedules import ScheduleSlots

_log = logging.getLogger("fastapi_taskflow.scheduler")

#: How soon a slot whose claim failed (storage unreachable) is tried again.
CLAIM_RETRY = timedelta(seconds=1)

#: Builds the pending task of one firing: ``(entry, slot or None for a start-up run)``.
RunFactory = Callable[[ScheduleEntry, "datetime | None"], TaskRecord]

#: Hands a task that won its claim to execution.
Launch = Callable[[TaskRecord], None]


class PeriodicSchedules:
    """The periodic entries of this process and when each is next due.

    Instances do not talk to each other: each computes the same slots from the trigger and
    races for them in storage (:meth:`ScheduleSlots.claim_slot`), which lets exactly one win
    and refuses any slot older than one already fired. An instance that was paused or busy
    past several slots tries only the latest of them.
    """

    def __init__(self, *, slots: ScheduleSlots, new_run: RunFactory, launch: Launch) -> None:
        self._slots = slots
        self._new_run = new_run
        self._launch = launch
        self._entries: dict[str, ScheduleEntry] = {}
        # Per entry: the first slot still to fire, and when to look (later after a failure).
        self._next_slot: dict[str, datetime] = {}
        self._look_at: dict[str, datetime] = {}
        self._started = False

    def __iter__(self) -> Iterator[ScheduleEntry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> ScheduleEntry | None:
        return self._entries.get(name)

    def add(self, entry: ScheduleEntry, now: datetime) -> None:
        """Register ``entry`` (replacing one of the same name); due from its next slot on."""
        self._entries[entry.name] = entry
        if self._started:
            self._plan(entry, now)

    def next_due(self, name: str) -> datetime | None:
        """The next slot of ``name`` this instance will try (``None`` before start-up)."""
        return self._next_slot.get(name)

    def next_wake(self) -> datetime | None:
        """The earliest moment an entry needs looking at."""
        return min(self._look_at.values(), default=None)

    async def start(self, now: datetime) -> None:
        """Begin at ``now``: catch up on missed slots where asked, run start-up entries."""
        entries = list(self._entries.values())
        try:
            claims = await self._slots.last_slots([entry.name for entry in entries])
        except Exception:
            _log.exception("could not read the last fired slots; no catching up this time")
            claims = {}
        for entry in entries:
            claim = claims.get(entry.name)
            catch_up = entry.catch_up_slot(None if claim is None else claim.slot, now)
            caught_up = False
            if catch_up is not None:
                try:
                    caught_up = await self._claim(entry, catch_up)
                except Exception:
                    _log.exception("schedule %s: could not run the missed slots", entry.name)
            if caught_up:
                _log.info("schedule %s: ran once for the slots missed while down", entry.name)
            elif entry.run_on_startup:
                self._launch(self._new_run(entry, None))
            self._plan(entry, now)
        self._started = True

    def stop(self) -> None:
        self._next_slot.clear()
        self._look_at.clear()
        self._started = False

    async def fire_due(self, now: datetime) -> int:
        """Claim the latest due slot of every entry due at ``now``, concurrently; returns
        how many this instance won."""
        claims = [self.claim(entry, slot, now) for entry, slot in self.due(now)]
        return sum(await asyncio.gather(*claims))

    def due(self, now: datetime) -> list[tuple[ScheduleEntry, datetime]]:
        """The slot to claim now of each entry that is due, planning each one's next slot.

        Claims are separate (see :meth:`claim`), so one that waits on storage, for example
        behind an instance frozen in the middle of claiming the same slot, holds up no other
        slot.
        """
        found = []
        for name, look_at in list(self._look_at.items()):
            entry = self._entries.get(name)
            if entry is None or look_at > now:
                continue
            slot = entry.trigger.latest_at_or_before(now)
            if slot is None or slot < self._next_slot[name]:
                self._look_at[name] = self._next_slot[name]  # woke a little early
                continue
            found.append((entry, slot))
            self._plan(entry, now)
        return found

    async def claim(self, entry: ScheduleEntry, slot: datetime, now: datetime) -> bool:
        """Try to win ``slot`` of ``entry`` and start its run; a failure to reach storage
        is logged and the slot tried again soon (unless a newer one is due by then)."""
        try:
            return await self._claim(entry, slot)
        except Exception:
            _log.exception("schedule %s: could not claim slot %s", entry.name, slot.isoformat())
            if self._started and self._next_slot.get(entry.name, slot) > slot:
                self._next_slot[entry.name] = slot
                self._look_at[entry.name] = now + CLAIM_RETRY
            return False

    def _plan(self, entry: ScheduleEntry, now: datetime) -> None:
        upcoming = entry.trigger.next_after(now)
        self._next_slot[entry.name] = upcoming
        self._look_at[entry.name] = upcoming

    async def _claim(self, entry: ScheduleEntry, slot: datetime) -> bool:
        record = self._new_run(entry, slot)
        if not await self._slots.claim_slot(entry.name, slot, record):
            return False
        self._launch(record)
        return True
