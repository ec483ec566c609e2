"""``TaskAdmin(auth=...)``: sign-in, sessions, CSRF, throttling and what stays reachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from fastapi import BackgroundTasks, FastAPI, Request

from fastapi_taskflow import TaskAdmin, TaskAuthBackend, TaskManager
from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.entrypoints.fastapi.principal import (
    CSRF_HEADER,
    csrf_token_of,
    principal_of,
)
from fastapi_taskflow.ports.audit import AuditQuery

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret-key"
CREDENTIALS = ("alice", "wonderland")
COOKIE = "taskflow_session"
#: What a browser sends when it navigates to a page.
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
ADDRESS = "198.51.100.7"


@attrs.define
class Admin:
    """A running app with an authenticated admin, its fake clock and its store."""

    client: httpx.AsyncClient
    manager: TaskManager
    clock: FakeClock
    storage: MemoryTaskStorage
    asgi: Any
    root_path: str
    base_url: str

    @asynccontextmanager
    async def client_from(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """Another browser, at another client address."""
        transport = httpx.ASGITransport(
            app=self.asgi, root_path=self.root_path, client=(address, 50000)
        )
        async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
            yield client

    async def audit(self) -> list[tuple[AuditAction, str | None]]:
        """(action, actor) of every audit entry, oldest first."""
        page = await self.storage.audit_entries(AuditQuery(), limit=100)
        return [(entry.action, entry.actor) for entry in reversed(page.items)]


@asynccontextmanager
async def running(
    *,
    auth: Any = CREDENTIALS,
    secret_key: str | None = SECRET,
    base_url: str = "http://test",
    root_path: str = "",
    extend: Callable[[FastAPI, TaskManager], None] | None = None,
    **options: Any,
) -> AsyncIterator[Admin]:
    clock = FakeClock(START, auto_advance=False)
    storage = MemoryTaskStorage(clock=clock)
    manager = TaskManager()
    manager.container.clock.override(providers.Object(clock))
    manager.container.storage.override(providers.Object(storage))
    app = FastAPI()

    @app.get("/tasks/probe/whoami")
    async def whoami(request: Request) -> dict[str, str | None]:
        return {"user": principal_of(request), "csrf": csrf_token_of(request)}

    TaskAdmin(app, manager, auth=auth, secret_key=secret_key, **options)

    # Added after TaskAdmin, as an application's own admin extension might be.
    @app.get("/tasks/reports/daily")
    async def daily_report(request: Request) -> dict[str, str | None]:
        return {"report": "ok", "user": principal_of(request)}

    if extend is not None:
        extend(app, manager)
    async with LifespanManager(app) as lifespan:
        transport = httpx.ASGITransport(
            app=lifespan.app, root_path=root_path, client=(ADDRESS, 50000)
        )
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Admin(client, manager, clock, storage, lifespan.app, root_path, base_url)


@pytest.fixture
async def admin() -> AsyncIterator[Admin]:
    async with running() as admin:
        yield admin


async def login(
    client: httpx.AsyncClient,
    username: str = "alice",
    password: str = "wonderland",
    *,
    next_url: str | None = None,
    path: str = "/tasks",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Submit the login form as a browser does."""
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return await client.post(
        f"{path}/login", data=data, headers={"Accept": HTML, **(headers or {})}
    )


async def api_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Sign in as a script does: no HTML wanted, JSON back."""
    return await client.post("/tasks/login", data={"username": username, "password": password})


def session_cookie(response: httpx.Response) -> Morsel[str]:
    cookies: SimpleCookie = SimpleCookie()
    for line in response.headers.get_list("set-cookie"):
        cookies.load(line)
    return cookies[COOKIE]


def cookie_header(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


async def csrf_token(client: httpx.AsyncClient) -> str:
    token = (await client.get("/tasks/probe/whoami")).json()["csrf"]
    assert isinstance(token, str)
    return token


class _Form(HTMLParser):
    """The login page's form, inputs, scripts and stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.assets: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found.get("action")
        if tag == "input" and found.get("name"):
            self.inputs[str(found["name"])] = found
        for name in ("src", "href"):
            if found.get(name):
                self.assets.append(str(found[name]))
        self._in_script = tag == "script" and not found.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


class _Body(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = dict(attrs)


def parse_form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


# -- without a session ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks"),
        ("GET", "/tasks/"),
        ("GET", "/tasks/metrics"),
        ("GET", "/tasks/schedules"),
        ("GET", "/tasks/audit"),
        ("GET", "/tasks/some-task-id"),
        ("POST", "/tasks/some-task-id/cancel"),
        ("DELETE", "/tasks/history"),
        ("GET", "/tasks/stream"),
        ("GET", "/tasks/reports/daily"),
        ("GET", "/tasks/not/a/route/yet"),
        ("POST", "/tasks/logout"),
    ],
)
async def test_without_a_session_every_route_under_the_path_answers_401(
    admin: Admin, method: str, path: str
) -> None:
    response = await admin.client.request(method, path)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert "sign in" in response.json()["detail"]
    assert "www-authenticate" not in response.headers


async def test_the_event_stream_is_refused_not_redirected(admin: Admin) -> None:
    response = await admin.client.get("/tasks/stream", headers={"Accept": "text/event-stream"})

    assert response.status_code == 401


async def test_a_browser_asking_for_a_page_is_sent_to_the_login_page(admin: Admin) -> None:
    response = await admin.client.get("/tasks/dashboard?status=failed", headers={"Accept": HTML})

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/tasks/login"
    assert parse_qs(location.query) == {"next": ["/tasks/dashboard?status=failed"]}


async def test_routes_outside_the_path_are_left_alone() -> None:
    def extend(app: FastAPI, _: TaskManager) -> None:
        @app.get("/tasksets")
        async def tasksets() -> list[str]:
            return ["not the admin"]

        @app.get("/health")
        async def health() -> str:
            return "ok"

    async with running(extend=extend) as admin:
        assert (await admin.client.get("/tasksets")).json() == ["not the admin"]
        assert (await admin.client.get("/health")).json() == "ok"


async def test_the_package_css_and_javascript_stay_reachable(admin: Admin) -> None:
    for asset in ("dashboard.css", "login.css", "theme.js", "favicon.svg", "dashboard.js"):
        response = await admin.client.get(f"/tasks/static/{asset}")
        assert response.status_code == 200, asset


async def test_the_login_page_is_a_self_contained_form(admin: Admin) -> None:
    response = await admin.client.get("/tasks/login", params={"next": "/tasks/dashboard"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "form-action 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    form = parse_form(response.text)
    assert form.action == "/tasks/login"
    assert set(form.inputs) == {"username", "password", "next"}
    assert form.inputs["password"]["type"] == "password"
    assert form.inputs["next"]["value"] == "/tasks/dashboard"
    assert form.inline_scripts == 0
    for asset in form.assets:
        assert asset.startswith("/tasks/static/"), asset
        assert (await admin.client.get(asset)).status_code == 200, asset


# -- signing in -----------------------------------------------------------------------------


async def test_signing_in_sets_a_strict_http_only_cookie_for_the_admin_path(
    admin: Admin,
) -> None:
    response = await login(admin.client, next_url="/tasks/dashboard")

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks/dashboard"
    cookie = session_cookie(response)
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/tasks"
    assert cookie["max-age"] == str(8 * 3600)
    assert not cookie["secure"]  # plain http here; see the https test

    assert (await admin.client.get("/tasks")).status_code == 200
    page = await admin.client.get("/tasks/dashboard", headers={"Accept": HTML})
    assert page.status_code == 200
    assert (await admin.client.get("/tasks/reports/daily")).json() == {
        "report": "ok",
        "user": "alice",
    }


async def test_over_https_the_cookie_is_secure() -> None:
    async with running(base_url="https://test") as admin:
        response = await login(admin.client)

        assert session_cookie(response)["secure"] is True
        assert (await admin.client.get("/tasks")).status_code == 200


async def test_without_next_the_dashboard_follows_the_login(admin: Admin) -> None:
    response = await login(admin.client)

    assert response.headers["location"] == "/tasks/dashboard"


async def test_the_page_asked_for_is_reached_after_signing_in(admin: Admin) -> None:
    bounce = await admin.client.get("/tasks/dashboard?status=failed", headers={"Accept": HTML})
    page = await admin.client.get(bounce.headers["location"])
    next_url = parse_form(page.text).inputs["next"]["value"]

    response = await login(admin.client, next_url=next_url)

    assert response.headers["location"] == "/tasks/dashboard?status=failed"


async def test_the_login_page_sends_a_signed_in_user_on(admin: Admin) -> None:
    await login(admin.client)

    response = await admin.client.get("/tasks/login", params={"next": "/tasks/metrics"})

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks/metrics"


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong"), ("mallory", "wonderland"), ("ALICE", "wonderland"), ("alice", "")],
)
async def test_wrong_credentials_are_refused_alike(
    admin: Admin, username: str, password: str
) -> None:
    response = await login(admin.client, username, password)

    assert response.status_code in (401, 422)  # 422: a required field left empty
    assert "set-cookie" not in response.headers
    assert (await admin.client.get("/tasks")).status_code == 401
    if response.status_code == 401:
        assert "Wrong user name or password." in response.text
        form = parse_form(response.text)
        assert form.inputs["username"]["value"] == username
        assert "value" not in form.inputs["password"]


async def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(admin: Admin) -> None:
    unknown = await api_login(admin.client, "mallory", "wonderland")
    wrong = await api_login(admin.client, "alice", "wonderland!")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"detail": "Wrong user name or password."}


async def test_a_script_signs_in_and_gets_its_csrf_token(admin: Admin) -> None:
    response = await api_login(admin.client, "alice", "wonderland")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["csrf_token"] == await csrf_token(admin.client)


async def test_a_list_of_users_signs_each_in_with_their_own_password() -> None:
    users = [("alice", "wonderland"), ("bob", "builder")]
    async with running(auth=users) as admin:
        assert (await api_login(admin.client, "alice", "builder")).status_code == 401
        assert (await api_login(admin.client, "bob", "wonderland")).status_code == 401
        assert (await api_login(admin.client, "bob", "builder")).status_code == 200
        assert (await admin.client.get("/tasks/probe/whoami")).json()["user"] == "bob"
        assert (await api_login(admin.client, "alice", "wonderland")).status_code == 200
        assert (await admin.client.get("/tasks/probe/whoami")).json()["user"] == "alice"


class _Directory(TaskAuthBackend):
    """Users whose password is their name backwards."""

    def authenticate(self, username: str, password: str) -> bool:
        return bool(username) and password == username[::-1]


class _AsyncDirectory(TaskAuthBackend):
    async def authenticate(self, username: str, password: str) -> bool:
        return bool(username) and password == username[::-1]


@pytest.mark.parametrize("backend", [_Directory(), _AsyncDirectory()], ids=["sync", "async"])
async def test_a_custom_backend_decides_who_signs_in(backend: TaskAuthBackend) -> None:
    async with running(auth=backend) as admin:
        assert (await login(admin.client, "carol", "carol")).status_code == 401
        response = await login(admin.client, "carol", "lorac")

        assert response.status_code == 303
        assert (await admin.client.get("/tasks/probe/whoami")).json()["user"] == "carol"


async def test_the_signed_in_user_and_token_reach_the_routes(admin: Admin) -> None:
    token = (await api_login(admin.client, "alice", "wonderland")).json()["csrf_token"]

    response = await admin.client.get("/tasks/probe/whoami")
    page = await admin.client.get("/tasks/dashboard", headers={"Accept": HTML})

    assert response.json() == {"user": "alice", "csrf": token}
    body = _Body()
    body.feed(page.text)
    assert body.attrs["data-user"] == "alice"
    assert body.attrs["data-csrf-token"] == token


async def test_actions_are_audited_under_the_signed_in_user() -> None:
    release = asyncio.Event()

    def extend(app: FastAPI, manager: TaskManager) -> None:
        @manager.task()
        async def wait() -> None:
            await release.wait()

        @app.post("/jobs")
        async def start(background_tasks: BackgroundTasks) -> dict[str, str]:
            return {"task_id": background_tasks.add_task(wait, eager=True)}

    async with running(extend=extend) as admin:
        task_id = (await admin.client.post("/jobs")).json()["task_id"]
        await login(admin.client)
        admin.clock.advance(1)

        response = await admin.client.post(
            f"/tasks/{task_id}/cancel", headers={CSRF_HEADER: await csrf_token(admin.client)}
        )

        assert response.status_code == 200, response.text
        assert (await admin.audit())[-1] == (AuditAction.CANCEL, "alice")


async def test_without_auth_the_routes_see_no_user() -> None:
    async with running(auth=None, secret_key=None) as admin:
        response = await admin.client.get("/tasks/probe/whoami")

        assert response.json() == {"user": None, "csrf": None}
        assert (await admin.client.get("/tasks")).status_code == 200
        assert (await admin.client.get("/tasks/login")).status_code == 404


# -- sessions -------------------------------------------------------------------------------


async def test_a_session_ends_at_its_expiry() -> None:
    async with running(token_expiry=600) as admin:
        response = await login(admin.client)
        assert session_cookie(response)["max-age"] == "600"

        admin.clock.advance(599)
        assert (await admin.client.get("/tasks")).status_code == 200

        admin.clock.advance(1)
        assert (await admin.client.get("/tasks")).status_code == 401
        page = await admin.client.get("/tasks/dashboard", headers={"Accept": HTML})
        assert page.status_code == 303


async def test_the_default_session_lasts_eight_hours(admin: Admin) -> None:
    await login(admin.client)

    admin.clock.advance(8 * 3600 - 1)
    assert (await admin.client.get("/tasks")).status_code == 200
    admin.clock.advance(1)
    assert (await admin.client.get("/tasks")).status_code == 401


def _tampered(value: str) -> list[str]:
    version, user, session_id, expires, signature = value.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    return [
        f"{version}.bWFsbG9yeQ.{session_id}.{expires}.{signature}",  # another user
        f"{version}.{user}.{session_id}.{int(expires) + 3600}.{signature}",  # a later expiry
        f"{version}.{user}.{session_id}.{expires}.{flipped}",  # a forged signature
        f"{version}.{user}.{session_id}.{expires}",  # no signature
        value + "x",
        "",
    ]


async def test_tampered_cookies_are_refused(admin: Admin) -> None:
    value = session_cookie(await login(admin.client)).value
    admin.client.cookies.clear()
    assert (await admin.client.get("/tasks", headers=cookie_header(value))).status_code == 200

    for forged in _tampered(value):
        response = await admin.client.get("/tasks", headers=cookie_header(forged))
        assert response.status_code == 401, forged


async def test_instances_sharing_a_secret_key_share_sessions() -> None:
    async with running() as first, running() as second:
        value = session_cookie(await login(first.client)).value

        response = await second.client.get("/tasks", headers=cookie_header(value))

        assert response.status_code == 200


async def test_without_a_secret_key_sessions_are_bound_to_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="fastapi_taskflow"):
        async with running(secret_key=None) as first, running(secret_key=None) as second:
            value = session_cookie(await login(first.client)).value
            assert (await first.client.get("/tasks")).status_code == 200

            response = await second.client.get("/tasks", headers=cookie_header(value))

            assert response.status_code == 401
    warnings = [r.getMessage() for r in caplog.records if "no secret_key" in r.getMessage()]
    assert len(warnings) == 2
    assert "end when the process restarts" in warnings[0]


async def test_a_session_for_one_admin_path_is_refused_on_another() -> None:
    def extend(app: FastAPI, _: TaskManager) -> None:
        TaskAdmin(app, TaskManager(), path="/ops", auth=CREDENTIALS, secret_key=SECRET)

    async with running(extend=extend) as admin:
        value = session_cookie(await login(admin.client)).value

        response = await admin.client.get("/ops", headers=cookie_header(value))

        assert response.status_code == 401
        assert (await login(admin.client, path="/ops")).status_code == 303
        assert (await admin.client.get("/ops")).status_code == 200


async def test_signing_out_ends_the_session(admin: Admin) -> None:
    await login(admin.client)
    token = await csrf_token(admin.client)

    response = await admin.client.post("/tasks/logout", headers={CSRF_HEADER: token})

    assert response.status_code == 204
    cleared = session_cookie(response)
    assert cleared.value == ""
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/tasks"
    assert (await admin.client.get("/tasks")).status_code == 401


async def test_signing_out_needs_the_csrf_token(admin: Admin) -> None:
    await login(admin.client)

    response = await admin.client.post("/tasks/logout")

    assert response.status_code == 403
    assert (await admin.client.get("/tasks")).status_code == 200


async def test_sign_ins_and_sign_outs_are_audited_without_passwords(
    admin: Admin, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await login(admin.client, "alice", "not-the-password")
        admin.clock.advance(1)  # entries are listed by time
        await login(admin.client, "mallory", "guess-one")
        admin.clock.advance(1)
        await login(admin.client)
        token = await csrf_token(admin.client)
        admin.clock.advance(1)
        await admin.client.post("/tasks/logout", headers={CSRF_HEADER: token})

    assert await admin.audit() == [
        (AuditAction.LOGIN_FAILED, "alice"),
        (AuditAction.LOGIN_FAILED, "mallory"),
        (AuditAction.LOGIN, "alice"),
        (AuditAction.LOGOUT, "alice"),
    ]
    page = await admin.storage.audit_entries(AuditQuery(), limit=100)
    for entry in page.items:
        assert entry.detail == {"client": ADDRESS}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for password in ("not-the-password", "guess-one", "wonderland"):
        assert password not in logged


# -- CSRF -----------------------------------------------------------------------------------


async def test_changes_need_the_session_csrf_token(admin: Admin) -> None:
    await login(admin.client)
    token = await csrf_token(admin.client)
    cancel = "/tasks/no-such-task/cancel"

    missing = await admin.client.post(cancel)
    wrong = await admin.client.post(cancel, headers={CSRF_HEADER: token[:-1] + "x"})
    right = await admin.client.post(cancel, headers={CSRF_HEADER: token})

    assert missing.status_code == wrong.status_code == 403
    assert CSRF_HEADER in missing.json()["detail"]
    assert right.status_code == 404  # past the guard, answered by the route


async def test_the_csrf_token_of_another_session_is_refused(admin: Admin) -> None:
    await login(admin.client)
    earlier = await csrf_token(admin.client)
    await login(admin.client)  # a new session, with a new token

    response = await admin.client.post(
        "/tasks/no-such-task/cancel", headers={CSRF_HEADER: earlier}
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/phish"},
        {"Origin": "http://test.evil.example"},
    ],
)
async def test_a_login_form_posted_from_another_site_is_refused(
    admin: Admin, headers: dict[str, str]
) -> None:
    response = await login(admin.client, headers=headers)

    assert response.status_code == 403
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://test"},
        {"Referer": "http://test/tasks/login?next=%2Ftasks"},
        {"Origin": "https://tasks.example.com", "X-Forwarded-Host": "tasks.example.com"},
    ],
)
async def test_a_login_form_posted_from_this_site_is_accepted(
    admin: Admin, headers: dict[str, str]
) -> None:
    assert (await login(admin.client, headers=headers)).status_code == 303


# -- throttling -----------------------------------------------------------------------------


async def test_repeated_failures_lock_the_user_out_for_a_while(admin: Admin) -> None:
    for _ in range(5):
        assert (await login(admin.client, password="guess")).status_code == 401

    refused = await login(admin.client)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    assert "Try again in 10 seconds" in refused.text
    assert "set-cookie" not in refused.headers

    admin.clock.advance(9)
    assert (await login(admin.client)).headers["retry-after"] == "1"
    admin.clock.advance(1)
    assert (await login(admin.client)).status_code == 303

    # The success cleared the count: a fresh series of free failures.
    for _ in range(5):
        assert (await login(admin.client, password="guess")).status_code == 401


async def test_each_further_failure_doubles_the_lockout(admin: Admin) -> None:
    for _ in range(5):
        await login(admin.client, password="guess")
    waits = []
    for _ in range(4):
        wait = int((await login(admin.client)).headers["retry-after"])
        waits.append(wait)
        admin.clock.advance(wait)
        assert (await login(admin.client, password="guess")).status_code == 401

    assert waits == [10, 20, 40, 80]
    response = await api_login(admin.client, "alice", "wonderland")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many failed sign-ins")


async def test_the_lockout_is_bounded_at_fifteen_minutes(admin: Admin) -> None:
    for _ in range(20):
        response = await login(admin.client, password="guess")
        if response.status_code == 429:
            admin.clock.advance(int(response.headers["retry-after"]))
            await login(admin.client, password="guess")

    assert int((await login(admin.client)).headers["retry-after"]) == 900


async def test_one_address_guessing_many_users_is_locked_out(admin: Admin) -> None:
    for index in range(5):
        await login(admin.client, f"user-{index}", "guess")

    assert (await login(admin.client)).status_code == 429
    async with admin.client_from("203.0.113.9") as elsewhere:
        assert (await login(elsewhere)).status_code == 303


async def test_guessing_one_user_from_many_addresses_is_locked_out(admin: Admin) -> None:
    for index in range(5):
        async with admin.client_from(f"203.0.113.{index}") as client:
            await login(client, password="guess")

    async with admin.client_from("203.0.113.200") as client:
        assert (await login(client)).status_code == 429
        assert (await login(client, "bob", "guess")).status_code == 401


# -- where to go next -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/tasks",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/elsewhere",
        "/tasksx",
        "/tasks/../admin",
        "/tasks/%2e%2e/admin",
        "/tasks/login",
        "/tasks/dashboard\r\nSet-Cookie: x=y",
        "tasks/dashboard",
    ],
)
async def test_next_never_leaves_the_admin(admin: Admin, next_url: str) -> None:
    response = await login(admin.client, next_url=next_url)

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks/dashboard"


@pytest.mark.parametrize(
    "next_url", ["/tasks", "/tasks/metrics", "/tasks/dashboard?status=failed&func_name=x"]
)
async def test_next_under_the_admin_is_followed(admin: Admin, next_url: str) -> None:
    response = await login(admin.client, next_url=next_url)

    assert response.headers["location"] == next_url


# -- behind a proxy -------------------------------------------------------------------------


async def test_behind_a_root_path_the_browser_sees_paths_with_it() -> None:
    async with running(root_path="/api") as admin:
        client = admin.client
        bounce = await client.get("/api/tasks/dashboard", headers={"Accept": HTML})
        assert bounce.status_code == 303
        location = urlsplit(bounce.headers["location"])
        assert location.path == "/api/tasks/login"
        assert parse_qs(location.query) == {"next": ["/api/tasks/dashboard"]}

        page = await client.get(bounce.headers["location"])
        form = parse_form(page.text)
        assert form.action == "/api/tasks/login"
        assert form.inputs["next"]["value"] == "/api/tasks/dashboard"
        for asset in form.assets:
            assert asset.startswith("/api/tasks/static/"), asset

        response = await login(client, next_url="/tasks/metrics", path="/api/tasks")
        assert response.headers["location"] == "/api/tasks/dashboard"  # outside the base
        assert session_cookie(response)["path"] == "/api/tasks"
        assert (await client.get("/api/tasks")).status_code == 200
        assert (await client.get("/api/tasks/probe/whoami")).json()["user"] == "alice"
