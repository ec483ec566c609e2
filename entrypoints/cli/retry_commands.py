"""Running finished tasks again: ``retry`` (with edits), ``retry-failed`` (a time window) and
``bulk-retry`` (a list).

Every retry goes through the audited operator use cases. The command line runs no tasks, so
new tasks are handed off: stored without an owner, they are claimed and run by the next
recovery sweep of a live app instance.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from fastapi_taskflow.application.queries import MAX_PAGE_SIZE
from fastapi_taskflow.application.task_retries import BulkRetry, ReplayEdits
from fastapi_taskflow.domain.errors import (
    AlreadyRetried,
    FunctionNotRegistered,
    InvalidReplay,
    NotRetryable,
    StorageBacklogFull,
    TaskArgumentError,
    TaskNotFound,
)
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.entrypoints.cli import human_output as human
from fastapi_taskflow.entrypoints.cli.arguments import window_statuses
from fastapi_taskflow.entrypoints.cli.console import Console
from fastapi_taskflow.entrypoints.cli.errors import OK, REFUSED, Refused, UsageError
from fastapi_taskflow.entrypoints.cli.json_output import task_out
from fastapi_taskflow.entrypoints.cli.session import Session
from fastapi_taskflow.entrypoints.fastapi.schemas import BulkRetryOut, RetryOut
from fastapi_taskflow.ports.storage import TaskQuery

#: Why the retry commands need ``--app``, for their error message.
NEEDS_APP = (
    "retrying needs the app's registered functions: name its TaskManager with --app "
    "module:attribute (or set TASKFLOW_APP), e.g. --app main:task_manager, run where the app's "
    "code can be imported"
)

_REFUSALS = (
    TaskNotFound,
    NotRetryable,
    AlreadyRetried,
    InvalidReplay,
    TaskArgumentError,
    StorageBacklogFull,
    TimeoutError,
)


async def retry(args: argparse.Namespace, session: Session, console: Console) -> int:
    if args.kwargs is not None and not session.settings.show_args:
        raise UsageError(
            "--kwargs replaces the task's keyword arguments, which stay hidden without "
            "--show-args; add --show-args to see and edit them"
        )
    try:
        edits = (
            None
            if args.kwargs is None and args.tags is None
            else ReplayEdits(
                kwargs=args.kwargs, tags=None if args.tags is None else dict(args.tags)
            )
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--tag: {exc}") from None
    try:
        retried = await session.operator.retry(
            args.task_id,
            edits,
            actor=session.actor,
            arguments_visible=session.settings.show_args,
        )
    except FunctionNotRegistered as exc:
        raise Refused(_not_registered(exc)) from None
    except _REFUSALS as exc:
        raise Refused(str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    new = retried.task
    if console.json_mode:
        console.emit(
            RetryOut(
                task_id=new.task_id,
                retried_from=args.task_id,
                task=task_out(new, session.arguments(new)),
            )
        )
    else:
        console.out(f"Retried {args.task_id} as {new.task_id}.")
        console.out(human.handed_off(session.sweep_period))
    await _warn_without_instances(session, console)
    return OK


async def retry_failed(args: argparse.Namespace, session: Session, console: Console) -> int:
    statuses = window_statuses(args)
    window: timedelta | None = args.since
    created_after = None if window is None else session.clock.now() - window
    count = await _count_window(session, created_after, args.func, statuses)
    scope = ", ".join(status.value for status in statuses)
    if args.func is not None:
        scope += f"; function {args.func}"
    if created_after is not None:
        scope += f"; created after {human.local_time(created_after)}"
    console.info(f"{count} tasks to retry ({scope}).")
    if count == 0:
        if console.json_mode:
            console.emit(BulkRetryOut.of(BulkRetry(results=[])))
        return OK
    if not args.yes:
        if not console.interactive:
            raise UsageError(
                f"not asking for confirmation: stdin is not a terminal; pass --yes to retry "
                f"these {count} tasks"
            )
        if not console.confirm(f"Retry {count} tasks?"):
            raise Refused("not confirmed; nothing was retried")
    try:
        outcome = await session.operator.retry_window(
            since=window, func_name=args.func, statuses=statuses, actor=session.actor
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except (TimeoutError, StorageBacklogFull) as exc:
        raise Refused(str(exc)) from None
    return await _report(outcome, session, console)


async def bulk_retry(args: argparse.Namespace, session: Session, console: Console) -> int:
    try:
        outcome = await session.operator.retry_many(args.task_ids, actor=session.actor)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except (TimeoutError, StorageBacklogFull) as exc:
        raise Refused(str(exc)) from None
    return await _report(outcome, session, console)


async def _report(outcome: BulkRetry, session: Session, console: Console) -> int:
    """Print what a bulk retry did; exit 1 when any task was skipped."""
    if console.json_mode:
        console.emit(BulkRetryOut.of(outcome))
    else:
        console.out(human.bulk_report(outcome))
        if outcome.dispatched:
            console.out(human.handed_off(session.sweep_period, outcome.dispatched))
    if outcome.dispatched:
        await _warn_without_instances(session, console, outcome.dispatched)
    return OK if outcome.skipped == 0 else REFUSED


async def _count_window(
    session: Session,
    created_after: datetime | None,
    func_name: str | None,
    statuses: list[TaskStatus],
) -> int:
    """How many tasks ``retry-failed`` would retry: those of the window not retried yet."""
    query = TaskQuery(
        statuses=frozenset(statuses),
        func_name=func_name,
        created_after=created_after,
    )
    count = 0
    cursor: str | None = None
    while True:
        page = await session.queries.page(query, limit=MAX_PAGE_SIZE, cursor=cursor)
        count += sum(1 for record in page.items if record.retried_as is None)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor


async def _warn_without_instances(session: Session, console: Console, count: int = 1) -> None:
    if not await session.storage.live_instances(session.clock.now()):
        what = "the new task starts" if count == 1 else "the new tasks start"
        console.note(
            f"note: no app instance is alive on this store right now; {what} when one starts"
        )


def _not_registered(exc: FunctionNotRegistered) -> str:
    return (
        f"function {exc.func_name!r} is not registered by the app given with --app; "
        "import the module that defines it from there, so the app can run it from storage"
    )
