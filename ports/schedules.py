"""Where schedules are arbitrated: slot claims of periodic entries and stored one-off runs.

Both are claimed in storage, durably and atomically, together with the task they start: of
any number of instances racing for a slot (or a one-off run), exactly one wins, and the task
it starts is committed in the same step, so a crash right after a claim loses nothing (the
task is recovered like any other pending task).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from fastapi_taskflow.domain.schedule import SlotClaim
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord


class ScheduleSlots(Protocol):
    """The latest slot each periodic entry fired, claimed once across instances."""

    async def claim_slot(self, entry: str, slot: datetime, record: TaskRecord) -> bool:
        """Claim ``slot`` of ``entry`` and store ``record`` (the run it starts), atomically.

        Exactly one claimant of each ``(entry, slot)`` succeeds, however late the others
        come; nothing is written for those that fail. A slot older than the entry's latest
        claim by more than :data:`~fastapi_taskflow.domain.schedule.SLOT_HISTORY` is always
        refused. A store may also refuse any slot older than the latest claim (those that
        keep only the latest one do); the scheduler starts the claims of an entry's slots in
        order, one period apart, so such a store loses no slot to it.

        A claim repeated with the same ``record`` after its first answer was lost (a dropped
        connection) answers True when that first one had won: ``record`` is stored.
        """
        ...

    async def last_slots(self, entries: Collection[str]) -> Mapping[str, SlotClaim]:
        """The latest claim of each of ``entries`` that has one."""
        ...


class OneOffRuns(Protocol):
    """One-off runs waiting for their time, found by key or by due time."""

    async def save_one_off(self, run: ScheduledOnce) -> None:
        """Store ``run``, replacing a stored run with the same ``run_key``.

        Raises:
            TypeError: its arguments cannot be serialized; nothing is written.
        """
        ...

    async def one_offs_due(self, before: datetime, *, limit: int) -> Sequence[ScheduledOnce]:
        """Stored runs whose ``run_at`` is before ``before``, soonest first (then by key)."""
        ...

    async def count_one_offs(self) -> int:
        """How many runs are stored."""
        ...

    async def delete_one_off(self, run_key: str) -> bool:
        """Remove the run stored under ``run_key``; False when there was none."""
        ...

    async def claim_one_off(self, run_key: str, token: str, record: TaskRecord) -> bool:
        """Remove the run ``run_key`` if it is still version ``token``, and store ``record``
        (the task it starts) in the same atomic step.

        True for exactly one of several racing clients; False, with nothing written, when the
        run was fired, cancelled or replaced meanwhile. As with slots, a claim repeated with
        the same ``record`` answers True when its first try had won.
        """
        ...
