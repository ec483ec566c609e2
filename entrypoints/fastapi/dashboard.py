"""The live dashboard page: one Jinja2 template plus static CSS and JavaScript."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import Scope

from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

_HERE = Path(__file__).parent
_TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: Milliseconds between refreshes while the page is live.
REFRESH_INTERVAL_MS = 2000

#: Choices of the "Created" filter: a count and a unit (``h`` or ``d``) the page turns into
#: ``created_after``, or ``all``.
TIME_RANGES = (
    ("all", "Any time"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
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
    """Serve the dashboard at ``{path}/dashboard`` and its assets under ``{path}/static``.

    Call this before including the admin router, so ``{path}/dashboard`` is matched before
    ``{path}/{task_id}``.

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
        _RevalidatedStaticFiles(directory=_HERE / "static"),
        name=static_name,
    )

    @app.get(f"{path}/dashboard", include_in_schema=False, response_class=HTMLResponse)
    async def dashboard(request: Request) -> HTMLResponse:
        # Behind a proxy or inside a mounted sub-application the browser sees the root path
        # too; the page builds every URL from this base.
        base = request.scope.get("root_path", "").rstrip("/") + path
        html = _TEMPLATES.get_template("dashboard.html").render(
            title=title,
            api_base=base,
            static_base=f"{base}/static",
            poll_interval=poll_interval,
            refresh_interval_ms=REFRESH_INTERVAL_MS,
            statuses=[status.value for status in TaskStatus],
            ranges=TIME_RANGES,
        )
        return HTMLResponse(html, headers=_PAGE_HEADERS)
