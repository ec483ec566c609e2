"""Committing a request's new tasks to storage before its response leaves the server."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_taskflow.application.task_service import TaskService


class CommitBeforeResponse:
    """ASGI middleware: before ``http.response.start`` is sent, flush buffered task changes.

    A client that received a task id can rely on the task surviving a crash from then on. The
    flush is one batched write (group commit) shared by every request waiting on it, and costs
    nothing when no task was enqueued.
    """

    def __init__(self, app: ASGIApp, service: TaskService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        writer = self.service.recorder.writer

        async def send_after_commit(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and writer.backlog
                and self.service.started
            ):
                await self.service.flush()
            await send(message)

        await self.app(scope, receive, send_after_commit)
