"""HTTP answers for errors that ``add_task()`` raises inside the user's endpoints."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fastapi_taskflow.domain.errors import QueueFullError, StorageBacklogFull

#: Seconds a client is asked to wait while storage catches up: the writer's longest pause
#: between two attempts, so a retry after it meets at least one fresh attempt.
BACKLOG_RETRY_AFTER = 5


async def storage_backlog_full(_request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: the service is briefly unable to accept work, not broken."""
    return JSONResponse(
        {"detail": str(exc)},
        status_code=503,
        headers={"Retry-After": str(BACKLOG_RETRY_AFTER)},
    )


def install_error_responses(app: FastAPI) -> None:
    """Answer :class:`StorageBacklogFull` with 503, unless the app handles it itself."""
    if StorageBacklogFull not in app.exception_handlers:
        app.add_exception_handler(StorageBacklogFull, storage_backlog_full)


async def queue_full(_request: Request, exc: Exception) -> JSONResponse:
    """429 with ``Retry-After``: this client should slow down; the task was kept as rejected."""
    if not isinstance(exc, QueueFullError):  # pragma: no cover - registered for this type only
        raise exc
    return JSONResponse(
        {
            "detail": str(exc),
            "queue": exc.queue,
            "max_size": exc.max_size,
            "waiting": exc.waiting,
            "retry_after": exc.retry_after,
            "task_id": exc.task_id,
        },
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


def install_queue_full_response(app: FastAPI) -> None:
    """Answer :class:`QueueFullError` with 429, unless the app handles it itself."""
    if QueueFullError not in app.exception_handlers:
        app.add_exception_handler(QueueFullError, queue_full)
