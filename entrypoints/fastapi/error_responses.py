"""HTTP answers for errors that ``add_task()`` raises inside the user's endpoints."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fastapi_taskflow.domain.errors import StorageBacklogFull

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
