"""The guard at the ASGI level: WebSockets under the path and other scope types."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from fastapi_taskflow import TaskManager
from fastapi_taskflow.entrypoints.fastapi.admin_auth import SESSION_COOKIE, AdminAuth
from fastapi_taskflow.entrypoints.fastapi.auth_guard import AdminAuthGuard
from fastapi_taskflow.entrypoints.fastapi.principal import PRINCIPAL_SCOPE_KEY


class _Inner:
    """The app behind the guard: remembers the scopes it was called with."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)


def _guard() -> tuple[AdminAuthGuard, _Inner, AdminAuth]:
    auth = AdminAuth.from_options(
        path="/tasks",
        auth=("alice", "wonderland"),
        secret_key="unit-test-secret-key",
        token_expiry=None,
        manager=TaskManager(),
    )
    assert auth is not None
    inner = _Inner()
    return AdminAuthGuard(inner, auth), inner, auth


def _websocket(path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "websocket",
        "path": path,
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [(b"host", b"test"), *headers],
    }


async def _call(guard: AdminAuthGuard, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    return sent


async def test_a_websocket_under_the_path_without_a_session_is_closed() -> None:
    guard, inner, _ = _guard()

    sent = await _call(guard, _websocket("/tasks/live", []))

    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert inner.scopes == []


async def test_a_websocket_with_a_session_from_this_site_goes_through() -> None:
    guard, inner, auth = _guard()
    value, _ = auth.issue("alice")
    cookie = (b"cookie", f"{SESSION_COOKIE}={value}".encode())

    elsewhere = (b"origin", b"https://evil.example")
    here = (b"origin", b"http://test")

    # Another site cannot use the browser's session.
    closed = await _call(guard, _websocket("/tasks/live", [cookie, elsewhere]))
    assert closed == [{"type": "websocket.close", "code": 1008}]
    assert await _call(guard, _websocket("/tasks/live", [cookie, here])) == []
    assert [scope[PRINCIPAL_SCOPE_KEY] for scope in inner.scopes] == ["alice"]


async def test_scopes_other_than_http_and_websocket_pass_through() -> None:
    guard, inner, _ = _guard()
    scope: dict[str, Any] = {"type": "lifespan"}

    await _call(guard, scope)

    assert inner.scopes == [scope]
