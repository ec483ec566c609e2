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
#: Failed claims kept per entry for another try; past that the oldest is given up.
MAX_UNSETTLED = 10

#: Builds the pending task of one firing: ``(entry, slot or None for a start-up run)``.
RunFactory = Callable[[ScheduleEntry, "datetime | None"], TaskRecord]

#: Hands a task that won its claim to execution.
Launch = Callable[[TaskRecord], None]


class PeriodicSchedules:
    """The periodic entries of this process and when each is next due.

    Instances do not talk to each other: each computes the same slots from the trigger and
    races for them in storage (:meth:`ScheduleSlots.claim_slot`), which lets exactly one win
    each slot. An instance that was paused or busy past several slots tries only the latest
    of them.
    """

    def __init__(self, *, slots: ScheduleSlots, new_run: RunFactory, launch: Launch) -> None:
        self._slots = slots
        self._new_run = new_run
        self._launch = launch
        self._entries: dict[str, ScheduleEntry] = {}
        # Per entry: the first slot still to fire, and when to look at it.
        self._next_slot: dict[str, datetime] = {}
        self._look_at: dict[str, datetime] = {}
        # Claims whose outcome storage never told (it was unreachable), kept with their
        # record to be tried again, and the claims under way.
        self._unsettled: dict[str, dict[datetime, TaskRecord]] = {}
        self._retry_at: dict[str, datetime] = {}
        self._claiming: set[tuple[str, datetime]] = set()
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
        return min([*self._look_at.values(), *self._retry_at.values()], default=None)

    async def start(self, now: datetime) -> None:
        """Begin at ``now``: catch up on missed slots where asked, run start-up entries."""
        self._started = True
        entries = list(self._entries.values())
        try:
            claims = await self._slots.last_slots([entry.name for entry in entries])
        except Exception:
            _log.exception("could not read the last fired slots; no catching up this time")
            claims = {}
        for entry in entries:
            claim = claims.get(entry.name)
            catch_up = entry.catch_up_slot(None if claim is None else claim.slot, now)
            caught_up = catch_up is not None and await self.claim(
                entry, catch_up, self._new_run(entry, catch_up), now
            )
            if caught_up:
                _log.info("schedule %s: ran once for the slots missed while down", entry.name)
            elif entry.run_on_startup:
                self._launch(self._new_run(entry, None))
            self._plan(entry, now)

    def stop(self) -> None:
        self._next_slot.clear()
        self._look_at.clear()
        self._unsettled.clear()
        self._retry_at.clear()
        self._started = False

    async def fire_due(self, now: datetime) -> int:
        """Claim the latest due slot of every entry due at ``now``, concurrently; returns
        how many this instance won."""
        claims = [self.claim(entry, slot, record, now) for entry, slot, record in self.due(now)]
        return sum(await asyncio.gather(*claims))

    def due(self, now: datetime) -> list[tuple[ScheduleEntry, datetime, TaskRecord]]:
        """The claims to make now: the latest due slot of each entry that is due (planning
        its next slot), and claims that failed earlier and are due for another try, each
        with the run it starts.

        Claims are separate (see :meth:`claim`), so one that waits on storage, for example
        behind an instance frozen in the middle of claiming the same slot, holds up no other
        slot.
        """
        found: list[tuple[ScheduleEntry, datetime, TaskRecord]] = []
        for name, entry in list(self._entries.items()):
            unsettled = self._unsettled.get(name, {})
            if unsettled and self._retry_at.get(name, now) <= now:
                self._retry_at[name] = now + CLAIM_RETRY
                found.extend(
                    (entry, slot, record)
                    for slot, record in unsettled.items()
                    if (name, slot) not in self._claiming
                )
            look_at = self._look_at.get(name)
            if look_at is None or look_at > now:
                continue
            slot = entry.trigger.latest_at_or_before(now)
            if slot is None or slot < self._next_slot[name]:
                self._look_at[name] = self._next_slot[name]  # woke a little early
                continue
            if slot not in unsettled:
                found.append((entry, slot, self._new_run(entry, slot)))
            self._plan(entry, now)
        return found

    async def claim(
        self, entry: ScheduleEntry, slot: datetime, record: TaskRecord, now: datetime
    ) -> bool:
        """Try to win ``slot`` of ``entry`` for ``record`` and start it.

        When storage cannot be reached the outcome is unknown (the claim may have been
        written), so the same claim, with the same record, is tried again soon until storage
        answers: a repeated claim that had won reports it (see
        :meth:`ScheduleSlots.claim_slot`), so the run is neither lost nor started twice.
        """
        key = (entry.name, slot)
        self._claiming.add(key)
        try:
            won = await self._slots.claim_slot(entry.name, slot, record)
        except Exception:
            _log.exception("schedule %s: could not claim slot %s", entry.name, slot.isoformat())
            self._keep_unsettled(entry.name, slot, record, now)
            return False
        finally:
            self._claiming.discard(key)
        unsettled = self._unsettled.get(entry.name)
        if unsettled is not None:
            unsettled.pop(slot, None)
            if not unsettled:
                del self._unsettled[entry.name]
                self._retry_at.pop(entry.name, None)
        if won:
            self._launch(record)
        return won

    def _keep_unsettled(
        self, name: str, slot: datetime, record: TaskRecord, now: datetime
    ) -> None:
        if not self._started:
            return
        unsettled = self._unsettled.setdefault(name, {})
        unsettled[slot] = record
        while len(unsettled) > MAX_UNSETTLED:
            oldest = min(unsettled)
            del unsettled[oldest]
            _log.warning(
                "schedule %s: giving up on slot %s, whose claim storage never answered",
                name,
                oldest.isoformat(),
            )
        self._retry_at[name] = now + CLAIM_RETRY

    def _plan(self, entry: ScheduleEntry, now: datetime) -> None:
        upcoming = entry.trigger.next_after(now)
        self._next_slot[entry.name] = upcoming
        self._look_at[entry.name] = upcoming
