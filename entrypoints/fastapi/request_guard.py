"""Per-request guarantees: new tasks are stored before the response, and tasks of a request
that never sent its background work are not left behind."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.entrypoints.fastapi.request_provenance import current_request_scope

#: Ids of tasks the current request deferred to "after the response". The list object is set
#: by the middleware and shared with worker threads (sync routes), which append to it.
deferred_by_request: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "fastapi_taskflow_deferred", default=None
)

ABANDONED = (
    "not run: the request that enqueued it ended without running its background tasks "
    "(it raised, or the response could not be sent)"
)


class RequestTaskGuard:
    """ASGI middleware installed by ``init_app`` (and so by ``TaskAdmin``).

    Before ``http.response.start`` leaves, buffered task changes are flushed to durable
    storage: a client that received a task id can rely on the task surviving a crash. The flush
    is one batched write shared by every request waiting on it, and costs nothing when no task
    was enqueued.

    FastAPI runs a request's background tasks only together with a successful response; when
    the route raises, they are dropped. Tasks deferred that way are cancelled once the request
    is over, instead of staying pending for ever (and running after the next restart). A
    request cancelled by a stopping server leaves its tasks pending, for recovery.
    """

    def __init__(self, app: ASGIApp, service: TaskService | Callable[[], TaskService]) -> None:
        self.app = app
        # A callable is asked per request, so a replaced service (the testing kit swaps the
        # manager's for one on memory storage) is the one this request uses.
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service = self.service if isinstance(self.service, TaskService) else self.service()
        writer = service.recorder.writer
        durable = service.storage.durable
        deferred: list[str] = []
        token = deferred_by_request.set(deferred)
        scope_token = current_request_scope.set(scope)

        async def send_after_commit(message: Message) -> None:
            if (
                durable
                and message["type"] == "http.response.start"
                and writer.backlog
                and service.started
            ):
                await service.flush()
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        except asyncio.CancelledError:
            # The server is stopping (e.g. a graceful-shutdown timeout): the response may have
            # promised these tasks, so they stay pending for recovery on the next start.
            deferred.clear()
            raise
        finally:
            current_request_scope.reset(scope_token)
            deferred_by_request.reset(token)
            if deferred:
                service.abandon_unstarted(deferred, ABANDONED)
