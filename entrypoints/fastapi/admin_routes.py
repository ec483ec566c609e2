"""The admin REST API mounted by ``TaskAdmin``: listing, inspecting, cancelling, metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.entrypoints.fastapi.schemas import (
    CancelOut,
    MetricsOut,
    SchedulesOut,
    TaskOut,
)
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.ports.storage import TaskQuery


def admin_router(manager: TaskManager, *, display_func_args: bool) -> APIRouter:
    """Routes relative to the admin path (``""`` is the path itself)."""
    router = APIRouter()
    service = manager.service

    @router.get("", response_model=list[TaskOut], summary="List tasks, newest first")
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
        )
        await service.ready()
        try:
            page = await service.queries.page(query, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        if page.next_cursor is not None:
            response.headers["X-Next-Cursor"] = page.next_cursor
            next_url = request.url.include_query_params(cursor=page.next_cursor)
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return [TaskOut.of(record, include_args=display_func_args) for record in page.items]

    @router.get("/metrics", response_model=MetricsOut, summary="Counts and durations")
    async def metrics() -> MetricsOut:
        await service.ready()
        return MetricsOut.of(await service.queries.metrics())

    @router.get(
        "/schedules",
        response_model=SchedulesOut,
        summary="Periodic entries: trigger, next and last run; one-off runs waiting",
    )
    async def schedules() -> SchedulesOut:
        return SchedulesOut.of(await service.schedules())

    @router.get(
        "/{task_id}",
        response_model=TaskOut,
        responses={404: {"description": "No task with this id."}},
        summary="One task",
    )
    async def get_task(task_id: str) -> TaskOut:
        await service.ready()
        record = await service.queries.get(task_id)
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
    async def cancel_task(task_id: str) -> CancelOut:
        await service.ready()
        try:
            record = await service.cancel(task_id)
        except InvalidTransition as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except TaskNotFound:
            stored = await service.queries.get(task_id)
            if stored is None:
                raise HTTPException(
                    status_code=404, detail=f"no task with id {task_id!r}"
                ) from None
            if stored.status.is_terminal:
                raise HTTPException(
                    status_code=400,
                    detail=f"task {task_id} already finished with status {stored.status.value!r}",
                ) from None
            raise HTTPException(
                status_code=409, detail=f"task {task_id} is owned by another instance"
            ) from None
        return CancelOut(task_id=task_id, task=TaskOut.of(record, include_args=display_func_args))

    return router


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
