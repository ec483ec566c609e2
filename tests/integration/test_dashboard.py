"""The dashboard page: served at ``{path}/dashboard`` with its own assets, offline-ready."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.entrypoints.fastapi.dashboard import ACTIVITY_DEFAULT, ACTIVITY_WINDOWS
from fastapi_taskflow.entrypoints.fastapi.principal import CSRF_SCOPE_KEY, PRINCIPAL_SCOPE_KEY

pytestmark = pytest.mark.integration

# (path passed to TaskAdmin, title passed to TaskAdmin or None for the default)
MOUNTS = [("/tasks", None), ("/ops/jobs", "Ops")]

EXPECTED_TYPES = {
    ".css": "text/css",
    ".js": "javascript",
    ".svg": "image/svg+xml",
}


class _PageParts(HTMLParser):
    """Collects the URLs a page loads, its inline scripts and its style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0
        self.body: dict[str, str | None] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            value = found.get(name)
            # Links within the page (the tabs) load nothing.
            if value and not value.startswith("#"):
                self.urls.append(value)
        if "style" in found:
            self.style_attributes += 1
        if tag == "script" and not found.get("src"):
            self._in_script = True
        if tag == "body":
            self.body = found

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _parse(html: str) -> _PageParts:
    parts = _PageParts()
    parts.feed(html)
    return parts


@asynccontextmanager
async def _client(
    build: Callable[[FastAPI, TaskManager], None], root_path: str = ""
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    build(app, TaskManager())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _admin(path: str, title: str | None, **options: object) -> Callable[..., None]:
    def build(app: FastAPI, manager: TaskManager) -> None:
        if title is None:
            TaskAdmin(app, manager, path=path, **options)  # type: ignore[arg-type]
        else:
            TaskAdmin(app, manager, path=path, title=title, **options)  # type: ignore[arg-type]

    return build


async def _assets(
    client: httpx.AsyncClient, page_url: str, html: str
) -> dict[str, httpx.Response]:
    """Every same-origin file the page loads, following JavaScript module imports."""
    queue = [urljoin(page_url, url) for url in _parse(html).urls]
    fetched: dict[str, httpx.Response] = {}
    while queue:
        url = queue.pop()
        if url in fetched:
            continue
        response = await client.get(url)
        fetched[url] = response
        if urlsplit(url).path.endswith(".js") and response.status_code == 200:
            imports = re.findall(r"""\bfrom\s+["']([^"']+)["']""", response.text)
            queue.extend(urljoin(url, target) for target in imports)
    return fetched


@pytest.mark.parametrize(("path", "title"), MOUNTS)
async def test_the_page_shows_the_title_and_talks_to_its_own_mount_path(
    path: str, title: str | None
) -> None:
    async with _client(_admin(path, title)) as client:
        response = await client.get(f"{path}/dashboard")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<h1 class="brand-title">{title or "fastapi-taskflow"}</h1>' in response.text
    assert _parse(response.text).body["data-api-base"] == path


@pytest.mark.parametrize(("path", "title"), MOUNTS)
async def test_every_asset_the_page_loads_is_served_with_its_content_type(
    path: str, title: str | None
) -> None:
    async with _client(_admin(path, title)) as client:
        page_url = f"http://test{path}/dashboard"
        page = await client.get(page_url)
        assets = await _assets(client, page_url, page.text)

    # The stylesheet, the icon, the theme script, the entry module and the modules it imports.
    assert len(assets) >= 5
    for url, response in assets.items():
        assert urlsplit(url).path.startswith(f"{path}/static/"), url
        assert response.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[-1]
        assert EXPECTED_TYPES[suffix] in response.headers["content-type"], url


@pytest.mark.parametrize(("path", "title"), MOUNTS)
async def test_the_dashboard_route_is_not_taken_for_a_task_id(
    path: str, title: str | None
) -> None:
    async with _client(_admin(path, title)) as client:
        dashboard = await client.get(f"{path}/dashboard")
        unknown_task = await client.get(f"{path}/no-such-task")

    assert unknown_task.status_code == 404
    assert unknown_task.headers["content-type"] == "application/json"
    assert dashboard.status_code == 200
    assert dashboard.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("path", "title"), MOUNTS)
async def test_the_page_and_its_code_load_nothing_from_other_sites(
    path: str, title: str | None
) -> None:
    async with _client(_admin(path, title)) as client:
        page_url = f"http://test{path}/dashboard"
        page = await client.get(page_url)
        assets = await _assets(client, page_url, page.text)

    assert re.search(r"https?://", page.text) is None
    for url, response in assets.items():
        if url.endswith((".css", ".js")):
            assert re.search(r"https?://", response.text) is None, url


async def test_the_page_runs_under_its_own_content_security_policy() -> None:
    async with _client(_admin("/tasks", None)) as client:
        response = await client.get("/tasks/dashboard")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    # The policy forbids inline code and styles, so the page must not rely on any.
    parts = _parse(response.text)
    assert parts.inline_scripts == 0
    assert parts.style_attributes == 0


async def test_the_activity_windows_offered_are_ones_the_chart_route_accepts() -> None:
    async with _client(_admin("/tasks", None)) as client:
        page = (await client.get("/tasks/dashboard")).text
        buttons = re.findall(
            r'data-since="([^"]+)"\s+data-buckets="(\d+)"[^>]*aria-pressed="(true|false)"', page
        )
        charts = [
            await client.get(
                "/tasks/charts/activity.svg",
                params={"since": since, "buckets": buckets, "tz": "Europe/Paris"},
            )
            for since, buckets, _pressed in buttons
        ]

    assert [(since, int(buckets)) for since, buckets, _ in buttons] == [
        (since, buckets) for since, buckets, _scope, _intervals in ACTIVITY_WINDOWS
    ]
    assert [since for since, _, pressed in buttons if pressed == "true"] == [ACTIVITY_DEFAULT]
    assert all(chart.status_code == 200 for chart in charts)
    # The legend's swatches are drawn with the bars' own classes, so they share the colours.
    for series in ("success", "failed", "other"):
        assert f'class="chart-bar chart-bar-{series}"' in page


async def test_the_title_is_escaped() -> None:
    async with _client(_admin("/tasks", "<script>alert('x')</script> & co")) as client:
        response = await client.get("/tasks/dashboard")

    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in response.text


async def test_the_poll_interval_is_handed_to_the_page() -> None:
    async with _client(_admin("/tasks", None, poll_interval=7.5)) as client:
        response = await client.get("/tasks/dashboard")

    assert _parse(response.text).body["data-poll-interval"] == "7.5"


async def test_behind_a_root_path_the_page_uses_the_path_the_browser_sees() -> None:
    async with _client(_admin("/tasks", None), root_path="/api") as client:
        page_url = "http://test/api/tasks/dashboard"
        page = await client.get(page_url)
        assets = await _assets(client, page_url, page.text)

    assert page.status_code == 200
    assert _parse(page.text).body["data-api-base"] == "/api/tasks"
    assert assets
    for url, response in assets.items():
        assert urlsplit(url).path.startswith("/api/tasks/static/"), url
        assert response.status_code == 200, url


async def test_two_admin_paths_on_one_app_each_serve_their_dashboard() -> None:
    def build(app: FastAPI, manager: TaskManager) -> None:
        TaskAdmin(app, manager, path="/tasks")
        TaskAdmin(app, manager, path="/ops/jobs", title="Ops")

    async with _client(build) as client:
        for path in ("/tasks", "/ops/jobs"):
            page_url = f"http://test{path}/dashboard"
            page = await client.get(page_url)
            assets = await _assets(client, page_url, page.text)
            assert _parse(page.text).body["data-api-base"] == path
            assert all(response.status_code == 200 for response in assets.values())


async def test_without_authentication_the_page_has_no_user_session_or_audit_tab() -> None:
    async with _client(_admin("/tasks", None)) as client:
        response = await client.get("/tasks/dashboard")

    body = _parse(response.text).body
    assert body["data-user"] == ""
    assert body["data-csrf-token"] == ""
    assert 'id="sign-out"' not in response.text
    assert 'data-tab="audit"' not in response.text
    assert 'data-tab="dead-letters"' in response.text


async def test_the_signed_in_user_and_csrf_token_reach_the_page_escaped() -> None:
    def build(app: FastAPI, manager: TaskManager) -> None:
        TaskAdmin(app, manager, path="/tasks")
        # Stands in for the authentication guard, which puts both into the scope.
        app.add_middleware(_SignedIn, user='<ada "admin">', token="tok&en")

    async with _client(build) as client:
        response = await client.get("/tasks/dashboard")

    body = _parse(response.text).body
    assert body["data-user"] == '<ada "admin">'
    assert body["data-csrf-token"] == "tok&en"
    assert '<ada "admin">' not in response.text
    assert 'id="sign-out"' in response.text
    assert 'data-tab="audit"' in response.text


class _SignedIn:
    def __init__(self, app: ASGIApp, user: str, token: str) -> None:
        self.app = app
        self.user = user
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, PRINCIPAL_SCOPE_KEY: self.user, CSRF_SCOPE_KEY: self.token}
        await self.app(scope, receive, send)


async def test_the_live_stream_is_served_under_the_mount_path() -> None:
    # Only the headers here: the stream itself is tested in test_live_stream.py.
    async with _client(_admin("/ops/jobs", "Ops")) as client:
        schema = (await client.get("/openapi.json")).json()

    assert "/ops/jobs/stream" not in schema["paths"]
