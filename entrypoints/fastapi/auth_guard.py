"""The ASGI middleware that keeps everything under the admin path behind a session."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fastapi_taskflow.entrypoints.fastapi.admin_auth import (
    AdminAuth,
    header,
    route_path,
    same_origin,
)
from fastapi_taskflow.entrypoints.fastapi.principal import (
    CSRF_HEADER,
    CSRF_SCOPE_KEY,
    PRINCIPAL_SCOPE_KEY,
)

#: Methods that never change state; every other method must carry the CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_CSRF_HEADER = CSRF_HEADER.lower().encode()
_NO_STORE = {"Cache-Control": "no-store"}
#: Close code for a refused WebSocket ("policy violation"); servers answer the handshake 403.
_WS_POLICY_VIOLATION = 1008


class AdminAuthGuard:
    """Installed by ``TaskAdmin(auth=...)``: requests under the admin path need a session.

    The check is made on the path prefix before routing, so it covers every route under the
    path, including ones added later, whoever adds them. Only the login page and form and
    ``{path}/static/...`` (the package's CSS and JavaScript) are open.

    Without a valid session, a browser asking for a page is sent to the login page (303) and
    any other request gets ``401`` with a JSON ``detail``. With one, state-changing methods must
    echo the session's CSRF token in the ``X-Taskflow-CSRF`` header (``403`` otherwise), and
    the route finds the user and the token in the ASGI scope (see ``principal.py``).
    """

    def __init__(self, app: ASGIApp, auth: AdminAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = self.auth
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if not auth.covers(path) or auth.is_public(path):
            await self.app(scope, receive, send)
            return
        session = auth.session_of(scope)
        if scope["type"] == "websocket":
            if session is None or not same_origin(scope):
                await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION})
                return
        elif session is None:
            await self._refuse(scope, path)(scope, receive, send)
            return
        elif scope["method"] not in SAFE_METHODS and not _csrf_ok(scope, session.csrf_token):
            await _forbidden()(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = session.username
        scope[CSRF_SCOPE_KEY] = session.csrf_token
        await self.app(scope, receive, send)

    def _refuse(self, scope: Scope, path: str) -> Response:
        accept = header(scope, b"accept") or ""
        if scope["method"] in ("GET", "HEAD") and "text/html" in accept:
            base = self.auth.base(scope)
            target = base + path[len(self.auth.path) :]
            query = scope.get("query_string", b"").decode("latin-1")
            if query:
                target = f"{target}?{query}"
            login = f"{base}/login?{urlencode({'next': target})}"
            return RedirectResponse(login, status_code=303, headers=_NO_STORE)
        return JSONResponse(
            {"detail": "Not signed in, or the session has expired: sign in first."},
            status_code=401,
            headers=_NO_STORE,
        )


def _csrf_ok(scope: Scope, expected: str) -> bool:
    sent = header(scope, _CSRF_HEADER)
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


def _forbidden() -> Response:
    return JSONResponse(
        {
            "detail": (
                f"Missing or wrong {CSRF_HEADER} header: requests that change something must "
                "send the CSRF token of the session (the dashboard page carries it)."
            )
        },
        status_code=403,
        headers=_NO_STORE,
    )
