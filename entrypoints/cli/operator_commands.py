"""Operating on the store: ``cancel``, ``prune`` and the ``audit`` log."""

from __future__ import annotations

import argparse

from fastapi_taskflow.application.cancel_orphan import cancel_orphan
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound, TaskOwnedElsewhere
from fastapi_taskflow.entrypoints.cli import human_output as human
from fastapi_taskflow.entrypoints.cli.console import Console
from fastapi_taskflow.entrypoints.cli.errors import OK, Refused, UsageError
from fastapi_taskflow.entrypoints.cli.json_output import AuditPageOut, task_out
from fastapi_taskflow.entrypoints.cli.session import Session
from fastapi_taskflow.entrypoints.fastapi.schemas import (
    AuditEntryOut,
    CancelOut,
    HistoryDeletedOut,
)
from fastapi_taskflow.ports.audit import AuditQuery


async def cancel(args: argparse.Namespace, session: Session, console: Console) -> int:
    """Cancel a task no live instance holds; a live instance's task is refused, since only
    that instance can stop it (it may be running the function right now)."""
    try:
        record = await cancel_orphan(
            args.task_id,
            storage=session.storage,
            audit=session.audit,
            clock=session.clock,
            owner=session.instance_id,
            actor=session.actor,
        )
    except TaskNotFound:
        raise Refused(f"no task with id {args.task_id!r}") from None
    except InvalidTransition as exc:
        raise Refused(f"{exc}: it already finished") from None
    except TaskOwnedElsewhere as exc:
        holder = f"instance {exc.owner}" if exc.owner else "another instance"
        raise Refused(
            f"task {args.task_id} is held by {holder}, which is alive; only it can stop the "
            "task: cancel it through the admin API (POST <admin path>/<id>/cancel) or the "
            "dashboard of the running app"
        ) from None
    if console.json_mode:
        console.emit(
            CancelOut(task_id=record.task_id, task=task_out(record, session.arguments(record)))
        )
    else:
        console.out(f"Cancelled {record.task_id} ({record.func_name}).")
    return OK


async def prune(args: argparse.Namespace, session: Session, console: Console) -> int:
    deleted = await session.operator.delete_history(args.older_than, actor=session.actor)
    if console.json_mode:
        console.emit(HistoryDeletedOut(deleted=deleted.deleted, cutoff=deleted.cutoff))
    else:
        console.out(
            f"Deleted {deleted.deleted} finished tasks that ended before "
            f"{human.local_time(deleted.cutoff)}."
        )
    return OK


async def audit(args: argparse.Namespace, session: Session, console: Console) -> int:
    query = AuditQuery(action=args.action, actor=args.by, task_id=args.task)
    try:
        page = await session.audit.page(query, limit=args.limit, cursor=args.cursor)
    except ValueError as exc:  # an invalid cursor
        raise UsageError(f"--cursor: {exc}") from None
    if console.json_mode:
        items = [AuditEntryOut.of(entry) for entry in page.items]
        console.emit(AuditPageOut(items=items, next_cursor=page.next_cursor))
        return OK
    if not page.items:
        console.out("No audit entries match." if args.cursor is None else "No more entries.")
        return OK
    console.out(human.audit_table(page.items))
    if page.next_cursor is not None:
        console.out(f"\nMore entries: add --cursor {page.next_cursor}")
    return OK
