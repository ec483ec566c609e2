"""The admin REST API mounted by ``TaskAdmin``: listing, inspecting, metrics, schedules,
retrying, cancelling, deleting history and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response

from fastapi_taskflow.application.activity_cache import MAX_INTERVALS
from fastapi_taskflow.application.audit_log import MAX_AUDIT_PAGE
from fastapi_taskflow.application.task_retries import ReplayEdits
from fastapi_taskflow.domain.activity import Activity, trailing_window
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.errors import (
    AlreadyRetried,
    FunctionNotRegistered,
    InvalidReplay,
    InvalidTransition,
    NotRetryable,
    TaskArgumentError,
    TaskNotFound,
    TaskOwnedElsewhere,
)
from fastapi_taskflow.domain.limits import MAX_NAME_LENGTH
from fastapi_taskflow.domain.status import DEAD_LETTER_STATUSES, TaskStatus
from fastapi_taskflow.domain.triggers import load_time_zone
from fastapi_taskflow.entrypoints.fastapi.charts import activity_svg, durations_svg
from fastapi_taskflow.entrypoints.fastapi.principal import principal_of
from fastapi_taskflow.entrypoints.fastapi.queue_schemas import QueueOut, QueueUpdateIn
from fastapi_taskflow.entrypoints.fastapi.request_provenance import request_provenance
from fastapi_taskflow.entrypoints.fastapi.schemas import (
    ActivityOut,
    AuditEntryOut,
    BulkRetryIn,
    BulkRetryOut,
    CancelOut,
    DurationHistogramOut,
    FunctionOut,
    HistoryDeletedOut,
    MetricsOut,
    ReplayIn,
    RetryOut,
    SchedulesOut,
    TaskOut,
)
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.ports.audit import AuditQuery
from fastapi_taskflow.ports.storage import TaskQuery


def admin_router(manager: TaskManager, *, display_func_args: bool) -> APIRouter:
    """Routes relative to the admin path (``""`` is the path itself)."""
    router = APIRouter()
    # Routes ask the manager for its service on every request rather than holding one: the
    # testing kit swaps the service (and its storage) for a test's duration.

    @router.get(
        "",
        response_model=list[TaskOut],
        responses={400: {"description": "A malformed cursor, tag or time."}},
        summary="List tasks, newest first",
    )
    async def list_tasks(
        request: Request,
        response: Response,
        status: Annotated[
            list[TaskStatus] | None, Query(description="Only these statuses (repeatable).")
        ] = None,
        func_name: Annotated[str | None, Query(description="Only this function.")] = None,
        tag: Annotated[
            str | None, Query(description="Only tasks with this tag, as key:value.")
        ] = None,
        source: Annotated[str | None, Query(pattern="^(manual|scheduled)$")] = None,
        queue: Annotated[str | None, Query(description="Only tasks of this queue.")] = None,
        route: Annotated[
            str | None,
            Query(
                max_length=MAX_NAME_LENGTH,
                description="Only tasks enqueued by a request to this route template.",
            ),
        ] = None,
        method: Annotated[
            str | None,
            Query(
                max_length=MAX_NAME_LENGTH,
                description="Only tasks enqueued by a request with this HTTP method.",
            ),
        ] = None,
        request_id: Annotated[
            str | None,
            Query(
                max_length=MAX_NAME_LENGTH,
                description="Only tasks enqueued by the request with this id.",
            ),
        ] = None,
        principal: Annotated[
            str | None,
            Query(
                max_length=MAX_NAME_LENGTH,
                description="Only tasks enqueued by a request of this authenticated user.",
            ),
        ] = None,
        created_after: Annotated[datetime | None, Query()] = None,
        created_before: Annotated[datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[
            str | None, Query(description="X-Next-Cursor of the previous page.")
        ] = None,
    ) -> list[TaskOut]:
        query = TaskQuery(
            statuses=frozenset(status) if status else None,
            func_name=func_name,
            tag=_parse_tag(tag),
            created_after=_aware(created_after, "created_after"),
            created_before=_aware(created_before, "created_before"),
            source=source,
            queue=queue,
            route=route,
            method=method,
            request_id=request_id,
            principal=principal,
        )
        await manager.service.ready()
        try:
            page = await manager.service.queries.page(query, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        _link_next_page(request, response, page.next_cursor)
        return [TaskOut.of(record, include_args=display_func_args) for record in page.items]

    @router.get("/metrics", response_model=MetricsOut, summary="Counts and durations")
    async def metrics() -> MetricsOut:
        await manager.service.ready()
        return MetricsOut.of(
            await manager.service.queries.metrics(), manager.service.queues.stats()
        )

    @router.get(
        "/queues",
        response_model=list[QueueOut],
        summary="Named queues: limits and current counts in this instance",
    )
    async def queues() -> list[QueueOut]:
        await manager.service.ready()
        return [QueueOut.of(stats) for stats in manager.service.queues.stats()]

    @router.patch(
        "/queues/{name}",
        response_model=QueueOut,
        responses={404: {"description": "No queue of that name is configured."}},
        summary="Change a queue's limits live (saved for restarts and other instances)",
    )
    async def update_queue(name: str, body: QueueUpdateIn, request: Request) -> QueueOut:
        service = manager.service
        await service.ready()
        try:
            before = service.queues.config(name)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=exc.args[0]) from None
        changes = body.model_dump(include=body.model_fields_set)
        try:
            after = await service.queues.update(name, **changes)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        await service.record_audit(
            principal_of(request),
            AuditAction.UPDATE_QUEUE,
            detail={"queue": name, "before": before.to_dict(), "after": after.to_dict()},
        )
        stats = next(item for item in service.queues.stats() if item.name == name)
        return QueueOut.of(stats)

    @router.get(
        "/metrics/activity",
        response_model=ActivityOut,
        responses={400: {"description": "An invalid window."}},
        summary="Tasks finished per interval, by final status",
    )
    async def activity(
        since: Annotated[str, Query(description="`<N>h` or `<N>d`: the span shown.")] = "24h",
        buckets: Annotated[int, Query(ge=1, le=MAX_INTERVALS, description="Intervals.")] = 48,
        func_name: Annotated[str | None, Query(description="Only this function.")] = None,
    ) -> ActivityOut:
        return ActivityOut.of(await _activity(since, buckets, func_name))

    @router.get(
        "/metrics/durations",
        response_model=DurationHistogramOut,
        summary="How many tasks took how long",
    )
    async def durations(
        func_name: Annotated[str | None, Query(description="Only this function.")] = None,
    ) -> DurationHistogramOut:
        await manager.service.ready()
        return DurationHistogramOut.of(await manager.service.queries.duration_histogram(func_name))

    @router.get("/charts/activity.svg", include_in_schema=False)
    async def activity_chart(
        since: str = "24h",
        buckets: Annotated[int, Query(ge=1, le=MAX_INTERVALS)] = 48,
        func_name: str | None = None,
        tz: Annotated[str, Query(description="IANA zone of the time labels.")] = "UTC",
    ) -> Response:
        try:
            zone = load_time_zone(tz)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        chart = activity_svg(await _activity(since, buckets, func_name), zone)
        return Response(chart, media_type=SVG, headers=_CHART_HEADERS)

    @router.get("/charts/durations.svg", include_in_schema=False)
    async def durations_chart(func_name: str | None = None) -> Response:
        await manager.service.ready()
        chart = durations_svg(await manager.service.queries.duration_histogram(func_name))
        return Response(chart, media_type=SVG, headers=_CHART_HEADERS)

    async def _activity(since: str, buckets: int, func_name: str | None) -> Activity:
        span = _parse_since(since)
        if span is None:
            raise HTTPException(status_code=400, detail="since must be a span such as 24h or 7d")
        await manager.service.ready()
        window = trailing_window(manager.service.clock.now(), span, buckets)
        return await manager.service.queries.activity(window, func_name)

    @router.get(
        "/schedules",
        response_model=SchedulesOut,
        summary="Periodic entries: trigger, next and last run; one-off runs waiting",
    )
    async def schedules() -> SchedulesOut:
        return SchedulesOut.of(await manager.service.schedules())

    @router.get("/functions", response_model=list[FunctionOut], summary="Registered tasks")
    async def functions() -> list[FunctionOut]:
        periodic = manager.service.scheduler.periodic
        return [FunctionOut.of(task, periodic.get(task.name)) for task in manager.service.registry]

    @router.get(
        "/audit",
        response_model=list[AuditEntryOut],
        responses={400: {"description": "A malformed cursor."}},
        summary="Operator actions, newest first",
    )
    async def audit(
        response: Response,
        request: Request,
        action: Annotated[AuditAction | None, Query(description="Only this action.")] = None,
        actor: Annotated[str | None, Query(description="Only this user's actions.")] = None,
        task_id: Annotated[str | None, Query(description="Only entries naming this task.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
        cursor: Annotated[
            str | None, Query(description="X-Next-Cursor of the previous page.")
        ] = None,
    ) -> list[AuditEntryOut]:
        await manager.service.ready()
        query = AuditQuery(action=action, actor=actor, task_id=task_id)
        try:
            page = await manager.service.operator.audit.page(query, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        _link_next_page(request, response, page.next_cursor)
        return [AuditEntryOut.of(entry) for entry in page.items]

    @router.post(
        "/bulk-retry",
        response_model=BulkRetryOut,
        responses={503: {"description": "Another instance is busy retrying."}},
        summary="Retry the listed tasks; those that cannot be are reported, not refused",
    )
    async def bulk_retry(body: BulkRetryIn, request: Request) -> BulkRetryOut:
        await manager.service.ready()
        try:
            outcome = await manager.service.operator.retry_many(
                body.task_ids, actor=principal_of(request), provenance=request_provenance()
            )
        except TimeoutError as exc:
            raise _busy(exc) from None
        return BulkRetryOut.of(outcome)

    @router.post(
        "/retry-failed",
        response_model=BulkRetryOut,
        responses={
            400: {"description": "Invalid window or status."},
            503: {"description": "Another instance is busy retrying."},
        },
        summary="Retry the dead letters of a time window (tasks retried before are left out)",
    )
    async def retry_failed(
        request: Request,
        since: Annotated[
            str, Query(description="`<N>h`, `<N>d` or `all`: how far back tasks were created.")
        ] = "all",
        func_name: Annotated[str | None, Query(description="Only this function.")] = None,
        status: Annotated[
            list[TaskStatus] | None,
            Query(
                description=(
                    "Statuses to retry (repeatable; default failed, interrupted and rejected)."
                )
            ),
        ] = None,
    ) -> BulkRetryOut:
        window = _parse_since(since)
        await manager.service.ready()
        try:
            outcome = await manager.service.operator.retry_window(
                since=window,
                func_name=func_name,
                statuses=status or DEAD_LETTER_STATUSES,
                actor=principal_of(request),
                provenance=request_provenance(),
            )
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except TimeoutError as exc:
            raise _busy(exc) from None
        return BulkRetryOut.of(outcome)

    @router.delete(
        "/history",
        response_model=HistoryDeletedOut,
        responses={400: {"description": "A window over 100 years."}},
        summary="Delete finished tasks that ended longer ago than a time window",
    )
    async def delete_history(
        request: Request,
        value: Annotated[int, Query(ge=0, description="How many units back.")],
        unit: Annotated[HistoryUnit, Query(description="`min`, `hour` or `day`.")],
    ) -> HistoryDeletedOut:
        await manager.service.ready()
        older_than = _window(value, unit.span, "value")
        deleted = await manager.service.operator.delete_history(
            older_than, actor=principal_of(request)
        )
        return HistoryDeletedOut(deleted=deleted.deleted, cutoff=deleted.cutoff)

    @router.get(
        "/{task_id}",
        response_model=TaskOut,
        responses={404: {"description": "No task with this id."}},
        summary="One task",
    )
    async def get_task(task_id: str) -> TaskOut:
        await manager.service.ready()
        record = await manager.service.queries.get(task_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no task with id {task_id!r}")
        return TaskOut.of(record, include_args=display_func_args)

    @router.post(
        "/{task_id}/cancel",
        response_model=CancelOut,
        responses={
            400: {"description": "The task already finished."},
            404: {"description": "No task with this id."},
            409: {"description": "The task belongs to another instance."},
        },
        summary="Cancel a pending or running task",
    )
    async def cancel_task(task_id: str, request: Request) -> CancelOut:
        await manager.service.ready()
        try:
            record = await manager.service.operator.cancel(task_id, actor=principal_of(request))
        except InvalidTransition as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except TaskNotFound:
            raise HTTPException(status_code=404, detail=f"no task with id {task_id!r}") from None
        except TaskOwnedElsewhere as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return CancelOut(task_id=task_id, task=TaskOut.of(record, include_args=display_func_args))

    @router.post(
        "/{task_id}/retry",
        response_model=RetryOut,
        responses={
            400: {"description": "The status does not allow a retry, or the edits are invalid."},
            404: {"description": "No task with this id."},
            409: {
                "description": (
                    "The function is no longer registered, or the task was already retried "
                    "(retry the newer task)."
                )
            },
            503: {"description": "Another instance is busy retrying; try again shortly."},
        },
        summary="Run a finished task again as a new task, optionally with edits",
    )
    async def retry_task(
        task_id: str, request: Request, edits: Annotated[ReplayIn | None, Body()] = None
    ) -> RetryOut:
        await manager.service.ready()
        try:
            replay = None if edits is None else ReplayEdits(kwargs=edits.kwargs, tags=edits.tags)
            retried = await manager.service.operator.retry(
                task_id,
                replay,
                actor=principal_of(request),
                arguments_visible=display_func_args,
                provenance=request_provenance(),
            )
        except TaskNotFound:
            raise HTTPException(status_code=404, detail=f"no task with id {task_id!r}") from None
        except (NotRetryable, InvalidReplay, TaskArgumentError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except (FunctionNotRegistered, AlreadyRetried) as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        except TimeoutError as exc:
            raise _busy(exc) from None
        return RetryOut(
            task_id=retried.task.task_id,
            retried_from=task_id,
            task=TaskOut.of(retried.task, include_args=display_func_args),
        )

    return router


class HistoryUnit(str, enum.Enum):
    """Units of ``DELETE /history``."""

    MIN = "min"
    HOUR = "hour"
    DAY = "day"

    @property
    def span(self) -> timedelta:
        return _UNIT_SPANS[self]


_UNIT_SPANS = {
    HistoryUnit.MIN: timedelta(minutes=1),
    HistoryUnit.HOUR: timedelta(hours=1),
    HistoryUnit.DAY: timedelta(days=1),
}


SVG = "image/svg+xml"
# Charts are read fresh on each refresh and never run scripts of their own.
_CHART_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}

_SINCE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1)}


def _parse_since(since: str) -> timedelta | None:
    """``<N>h`` or ``<N>d`` as a span, ``all`` as ``None``; 400 for anything else."""
    if since == "all":
        return None
    count, unit = since[:-1], since[-1:]
    if unit not in _SINCE_UNITS or not count.isdigit() or int(count) < 1:
        raise HTTPException(
            status_code=400,
            detail=f"since must look like 24h, 7d or all, got {since!r}",
        )
    return _window(int(count), _SINCE_UNITS[unit], "since")


#: The longest time window a request may name.
MAX_WINDOW = timedelta(days=100 * 366)


def _window(count: int, unit: timedelta, name: str) -> timedelta:
    if count > MAX_WINDOW / unit:
        raise HTTPException(
            status_code=400, detail=f"{name} reaches back more than 100 years; use a shorter one"
        )
    return count * unit


def _link_next_page(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is not None:
        response.headers["X-Next-Cursor"] = next_cursor
        next_url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'


def _busy(exc: Exception) -> HTTPException:
    return HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"})


def _parse_tag(tag: str | None) -> tuple[str, str] | None:
    if tag is None:
        return None
    key, sep, value = tag.partition(":")
    if not sep or not key:
        raise HTTPException(status_code=400, detail="tag must look like key:value")
    return key, value


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status_code=400, detail=f"{name} needs a time zone, e.g. 2026-01-01T00:00:00Z"
        )
    return value
