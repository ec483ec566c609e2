"""``TaskAdmin``: mounts the admin API and dashboard and ties the manager to the app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from fastapi_taskflow.entrypoints.fastapi.admin_auth import AdminAuth
from fastapi_taskflow.entrypoints.fastapi.admin_routes import admin_router
from fastapi_taskflow.entrypoints.fastapi.auth_guard import AdminAuthGuard
from fastapi_taskflow.entrypoints.fastapi.dashboard import mount_dashboard
from fastapi_taskflow.entrypoints.fastapi.login_routes import login_router
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager


class TaskAdmin:
    """Mounts the task API and dashboard on ``app`` and manages ``task_manager``'s lifecycle.

    Args:
        app: The FastAPI application.
        task_manager: The manager whose tasks to show.
        path: Where to mount the routes (default ``/tasks``).
        display_func_args: Include task arguments in API responses and the dashboard.
            Encrypted arguments are never shown.
        auto_install: Make bare ``BackgroundTasks`` parameters managed (see
            ``TaskManager.install``; ``init_app``, which TaskAdmin calls, installs too).
        auth: Require a sign-in for everything under ``path``: a ``(username, password)``
            tuple, a list of them, or a ``TaskAuthBackend`` instance. ``None``: open.
        token_expiry: Seconds a session lasts after signing in (default 8 hours).
        secret_key: Signs the session cookies; give every instance the same one. Without
            it, a random key is made at start-up and sessions end with the process.
        poll_interval: Seconds between the dashboard's reads of the API besides its live
            stream: they pick up other instances' changes on stores that announce none, and
            keep the page current where the stream cannot reach it.
        title: Name shown in the dashboard header.
        retention_days: Overrides the manager's ``retention_days``.
        handle_queue_full: Answer a ``QueueFullError`` escaping an endpoint with ``429`` and a
            ``Retry-After`` header (see ``TaskManager.init_app``). ``False``: the app handles it.
    """

    def __init__(
        self,
        app: FastAPI,
        task_manager: TaskManager,
        path: str = "/tasks",
        display_func_args: bool = False,
        auto_install: bool = False,
        auth: Any = None,
        token_expiry: int | None = None,
        secret_key: str | bytes | None = None,
        poll_interval: float = 30.0,
        title: str = "fastapi-taskflow",
        retention_days: float | None = None,
        handle_queue_full: bool = True,
    ) -> None:
        if not path.startswith("/") or path.endswith("/"):
            raise ValueError(f"path must start with '/' and not end with one, got {path!r}")
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}")
        self.auth = AdminAuth.from_options(
            path=path,
            auth=auth,
            secret_key=secret_key,
            token_expiry=token_expiry,
            manager=task_manager,
        )
        self.app = app
        self.task_manager = task_manager
        self.path = path
        self.title = title
        self.display_func_args = display_func_args
        self.poll_interval = poll_interval
        if retention_days is not None:
            task_manager.retention_days = retention_days
        task_manager.init_app(app, handle_queue_full=handle_queue_full)
        if auto_install:
            task_manager.install(app)
        if self.auth is not None:
            # Before the admin API, whose /{task_id} would match /login; the guard wraps the
            # whole app and protects every route under the path, whoever adds it.
            app.include_router(login_router(self.auth, title=title), prefix=path)
            app.add_middleware(AdminAuthGuard, auth=self.auth)
        mount_dashboard(app, task_manager, path=path, title=title, poll_interval=poll_interval)
        app.include_router(
            admin_router(task_manager, display_func_args=display_func_args),
            prefix=path,
            tags=["tasks"],
        )
