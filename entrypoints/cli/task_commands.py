"""Reading tasks: ``list``, ``show`` and ``metrics``."""

from __future__ import annotations

import argparse
from datetime import timedelta

from fastapi_taskflow.entrypoints.cli import human_output as human
from fastapi_taskflow.entrypoints.cli.console import Console
from fastapi_taskflow.entrypoints.cli.errors import OK, Refused, UsageError
from fastapi_taskflow.entrypoints.cli.json_output import TaskPageOut, task_out
from fastapi_taskflow.entrypoints.cli.session import Session
from fastapi_taskflow.entrypoints.fastapi.schemas import MetricsOut
from fastapi_taskflow.ports.storage import TaskQuery


async def list_tasks(args: argparse.Namespace, session: Session, console: Console) -> int:
    window: timedelta | None = args.since
    query = TaskQuery(
        statuses=frozenset(args.status) if args.status else None,
        func_name=args.func,
        tag=args.tag,
        created_after=None if window is None else session.clock.now() - window,
        source=args.source,
        queue=args.queue,
        route=args.route,
        method=args.method,
        request_id=args.request_id,
        principal=args.principal,
    )
    try:
        page = await session.queries.page(query, limit=args.limit, cursor=args.cursor)
    except ValueError as exc:  # an invalid cursor
        raise UsageError(f"--cursor: {exc}") from None
    if console.json_mode:
        items = [task_out(record, session.arguments(record)) for record in page.items]
        console.emit(TaskPageOut(items=items, next_cursor=page.next_cursor))
        return OK
    if not page.items:
        console.out("No tasks match." if args.cursor is None else "No more tasks.")
        return OK
    console.out(human.task_table(page.items))
    if page.next_cursor is not None:
        console.out(f"\nMore tasks: add --cursor {page.next_cursor}")
    return OK


async def show_task(args: argparse.Namespace, session: Session, console: Console) -> int:
    record = await session.queries.get(args.task_id)
    if record is None:
        raise Refused(f"no task with id {args.task_id!r}")
    shown = session.arguments(record)
    if console.json_mode:
        console.emit(task_out(record, shown))
    else:
        console.out(human.task_details(record, shown))
    return OK


async def metrics(args: argparse.Namespace, session: Session, console: Console) -> int:
    result = await session.queries.metrics(TaskQuery(func_name=args.func))
    if console.json_mode:
        console.emit(MetricsOut.of(result))
    else:
        console.out(human.metrics_report(result))
    return OK
