"""The live dashboard page: one Jinja2 template plus static CSS and JavaScript."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.status import DEAD_LETTER_STATUSES, TaskStatus
from fastapi_taskflow.entrypoints.fastapi.live_stream import mount_live_stream
from fastapi_taskflow.entrypoints.fastapi.page_templates import STATIC_DIR, TEMPLATES
from fastapi_taskflow.entrypoints.fastapi.principal import csrf_token_of, principal_of
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

#: Shortest time in milliseconds between two refreshes of the overview cards while changes
#: stream in.
METRICS_INTERVAL_MS = 3000

#: Choices of the "Created" filter: a count and a unit (``h`` or ``d``) the page turns into
#: ``created_after``, or ``all``.
TIME_RANGES = (
    ("all", "Any time"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
)

#: Methods offered by the task list's method filter (the ones routes enqueue work from).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

#: Windows of the activity chart (``since``, the button's text too), how many bars, and what
#: they cover. Each bar is a round span, so bars line up with the chart's round-time labels.
ACTIVITY_WINDOWS = (
    ("1h", 12, "Last hour", "5-minute intervals"),
    ("6h", 36, "Last 6 hours", "10-minute intervals"),
    ("24h", 48, "Last 24 hours", "30-minute intervals"),
    ("7d", 56, "Last 7 days", "3-hour intervals"),
)
#: The window the activity chart opens with.
ACTIVITY_DEFAULT = "24h"

#: Windows a dead-letter replay can cover (the ``since`` of ``POST {path}/retry-failed``).
REPLAY_WINDOWS = (
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("all", "All time"),
)

# The page loads only its own files and talks only to its own origin, so a strict policy costs
# nothing and stops injected markup from running scripts or calling out.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class _RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers must revalidate (a cheap 304) before reuse.

    The page imports JavaScript modules by plain relative names, so a version in the URL cannot
    reach them; revalidation keeps an upgraded package from running against stale scripts.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_dashboard(
    app: FastAPI, manager: TaskManager, *, path: str, title: str, poll_interval: float
) -> None:
    """Serve the dashboard at ``{path}/dashboard``, its live updates at ``{path}/stream`` and
    its assets under ``{path}/static``.

    Call this before including the admin router, so ``{path}/dashboard`` and
    ``{path}/stream`` are matched before ``{path}/{task_id}``.

    Args:
        app: The application to add the routes to.
        manager: The manager whose tasks the page shows (through the admin API).
        path: Where the admin API is mounted, e.g. ``/tasks``.
        title: Name shown in the page header and the browser tab.
        poll_interval: Seconds between reads from shared storage; passed to the page.
    """
    static_name = f"fastapi_taskflow_static:{path}"
    app.mount(
        f"{path}/static",
        _RevalidatedStaticFiles(directory=STATIC_DIR),
        name=static_name,
    )
    mount_live_stream(app, manager, path=path)

    @app.get(f"{path}/dashboard", include_in_schema=False, response_class=HTMLResponse)
    async def dashboard(request: Request) -> HTMLResponse:
        # Behind a proxy or inside a mounted sub-application the browser sees the root path
        # too; the page builds every URL from this base.
        base = request.scope.get("root_path", "").rstrip("/") + path
        html = TEMPLATES.get_template("dashboard.html").render(
            title=title,
            api_base=base,
            static_base=f"{base}/static",
            poll_interval=poll_interval,
            metrics_interval_ms=METRICS_INTERVAL_MS,
            statuses=[status.value for status in TaskStatus],
            dead_letter_statuses=[s.value for s in TaskStatus if s in DEAD_LETTER_STATUSES],
            ranges=TIME_RANGES,
            methods=HTTP_METHODS,
            activity_windows=ACTIVITY_WINDOWS,
            activity_default=ACTIVITY_DEFAULT,
            replay_windows=REPLAY_WINDOWS,
            audit_actions=[action.value for action in AuditAction],
            # Set by the authentication guard when it is on; empty otherwise.
            user=principal_of(request) or "",
            csrf_token=csrf_token_of(request) or "",
        )
        return HTMLResponse(html, headers=_PAGE_HEADERS)
