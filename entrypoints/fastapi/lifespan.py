"""Tying a TaskManager to a FastAPI app: its lifespan and per-request guarantees."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from fastapi_taskflow.entrypoints.fastapi.error_responses import install_error_responses
from fastapi_taskflow.entrypoints.fastapi.request_guard import RequestTaskGuard

if TYPE_CHECKING:
    from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

_log = logging.getLogger("fastapi_taskflow")

_ATTACHED = "_taskflow_attached_managers"


def attach_to_app(app: FastAPI, manager: TaskManager) -> None:
    """Run ``manager``'s startup/shutdown around ``app``'s lifespan. Idempotent per app."""
    attached: set[int] = app.__dict__.setdefault(_ATTACHED, set())
    if id(manager) in attached:
        return
    attached.add(id(manager))
    app.router.lifespan_context = _wrap_lifespan(app.router.lifespan_context, manager)
    install_error_responses(app)
    try:
        app.add_middleware(RequestTaskGuard, service=lambda: manager.service)
    except RuntimeError:
        _log.warning(
            "init_app() was called after the app started; new tasks will be committed in the "
            "background instead of before each response"
        )


def _wrap_lifespan(inner: Callable[[Any], Any], manager: TaskManager) -> Callable[[Any], Any]:
    # Our start-up runs first so the app's own start-up code can enqueue tasks; our shutdown
    # runs last so tasks enqueued during the app's shutdown are still recorded.
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        await manager.startup()
        try:
            async with inner(app) as state:
                yield state
        finally:
            await manager.shutdown()

    return lifespan
