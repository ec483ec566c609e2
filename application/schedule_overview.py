"""What the Schedules view shows: each entry, when it runs next, and how its last run went."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.application.scheduler import Scheduler
from fastapi_taskflow.domain.schedule import ScheduleEntry, SlotClaim
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.schedules import OneOffRuns, ScheduleSlots


@attrs.frozen(kw_only=True)
class EntryOverview:
    entry: ScheduleEntry
    next_run: datetime
    #: The latest slot fired by any instance, and its task's status (``None``: pruned).
    last_claim: SlotClaim | None
    last_status: TaskStatus | None
    retries: int
    executor: str


@attrs.frozen(kw_only=True)
class ScheduleOverview:
    entries: Sequence[EntryOverview]
    #: One-off runs stored and waiting for their time.
    one_offs_armed: int


async def overview(
    *,
    scheduler: Scheduler,
    registry: TaskRegistry,
    storage: ScheduleSlots,
    one_offs: OneOffRuns,
    queries: TaskQueries,
    clock: Clock,
) -> ScheduleOverview:
    """The state of every periodic entry of this process, read from the shared store."""
    now = clock.now()
    entries = sorted(scheduler.periodic, key=lambda entry: entry.name)
    claims = await storage.last_slots([entry.name for entry in entries])
    rows = []
    for entry in entries:
        claim = claims.get(entry.name)
        last = None if claim is None else await queries.get(claim.task_id)
        registered = registry.get_by_name(entry.name)
        rows.append(
            EntryOverview(
                entry=entry,
                next_run=scheduler.periodic.next_due(entry.name) or entry.trigger.next_after(now),
                last_claim=claim,
                last_status=None if last is None else last.status,
                retries=0 if registered is None else registered.config.retries,
                executor="" if registered is None else registered.executor.value,
            )
        )
    return ScheduleOverview(entries=rows, one_offs_armed=await one_offs.count_one_offs())
