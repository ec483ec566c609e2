"""``schedules``: the periodic entries of the app (declared in its code, so known only with
``--app``) with their next and last run, and the one-off runs waiting in the store."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from fastapi_taskflow.application.schedule_overview import ScheduleOverview, overview
from fastapi_taskflow.entrypoints.cli import human_output as human
from fastapi_taskflow.entrypoints.cli.console import Console
from fastapi_taskflow.entrypoints.cli.errors import OK
from fastapi_taskflow.entrypoints.cli.json_output import OneOffRunOut, SchedulesListingOut
from fastapi_taskflow.entrypoints.cli.session import Session
from fastapi_taskflow.entrypoints.fastapi.schemas import ScheduleEntryOut

#: A bound later than any stored run: every one-off is due before it.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)


async def schedules(args: argparse.Namespace, session: Session, console: Console) -> int:
    periodic: ScheduleOverview | None = None
    manager = session.manager
    if manager is not None:
        # The app's entries, read from its code; their slots and last runs from the store.
        periodic = await overview(
            scheduler=manager.service.scheduler,
            registry=manager.registry,
            storage=session.storage,
            one_offs=session.storage,
            queries=session.queries,
            clock=session.clock,
        )
    runs = await session.storage.one_offs_due(_END_OF_TIME, limit=args.limit)
    total = await session.storage.count_one_offs()
    if console.json_mode:
        console.emit(
            SchedulesListingOut(
                entries=None
                if periodic is None
                else [ScheduleEntryOut.of(row) for row in periodic.entries],
                one_off_armed=total,
                one_offs=[OneOffRunOut.of(run) for run in runs],
            )
        )
        return OK
    if periodic is None:
        console.out(
            "Periodic entries: declared in the app's code; pass --app module:attribute to "
            "list them."
        )
    else:
        console.out(human.periodic_table(periodic))
    console.out("")
    console.out(human.one_off_table(runs, total))
    return OK
