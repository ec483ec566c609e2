"""The login page, the login form's target and logout, mounted under the admin path."""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.entrypoints.fastapi.admin_auth import AdminAuth, header, same_origin
from fastapi_taskflow.entrypoints.fastapi.auth_backend import (
    MAX_PASSWORD_LENGTH,
    MAX_USERNAME_LENGTH,
    verify,
)
from fastapi_taskflow.entrypoints.fastapi.page_templates import TEMPLATES
from fastapi_taskflow.entrypoints.fastapi.principal import principal_of

_log = logging.getLogger("fastapi_taskflow")


#: Longest ``next`` accepted; anything longer falls back to the dashboard.
MAX_NEXT_LENGTH = 2048

# Like the dashboard's policy, and the form may post to this origin only. Nothing may frame
# the page, so a hidden login form cannot be overlaid on another site.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

_WRONG_CREDENTIALS = "Wrong user name or password."
_CROSS_SITE = "This sign-in came from another site and was refused. Reload the page and retry."


def login_router(auth: AdminAuth, *, title: str) -> APIRouter:
    """``GET``/``POST`` ``/login`` and ``POST`` ``/logout``, relative to the admin path.

    Include it before the admin API, whose ``/{task_id}`` would otherwise match ``/login``.
    """
    router = APIRouter()

    def page(
        request: Request,
        *,
        next_url: str,
        status_code: int = 200,
        error: str | None = None,
        username: str = "",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        base = auth.base(request.scope)
        html = TEMPLATES.get_template("login.html").render(
            title=title,
            static_base=f"{base}/static",
            action=f"{base}/login",
            next_url=next_url,
            error=error,
            username=username,
            max_username=MAX_USERNAME_LENGTH,
            max_password=MAX_PASSWORD_LENGTH,
        )
        return HTMLResponse(
            html, status_code=status_code, headers={**_PAGE_HEADERS, **(headers or {})}
        )

    def refusal(
        request: Request,
        status_code: int,
        message: str,
        *,
        next_url: str,
        username: str = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        if _wants_html(request):
            return page(
                request,
                next_url=next_url,
                status_code=status_code,
                error=message,
                username=username,
                headers=headers,
            )
        return JSONResponse({"detail": message}, status_code=status_code, headers=headers)

    @router.get("/login", include_in_schema=False, response_class=HTMLResponse)
    async def login_page(
        request: Request,
        next_url: Annotated[str, Query(alias="next")] = "",
    ) -> Response:
        target = safe_next(next_url, auth.base(request.scope))
        if auth.session_of(request.scope) is not None:
            return RedirectResponse(target, status_code=303)
        return page(request, next_url=target)

    @router.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=MAX_USERNAME_LENGTH)],
        password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
        next_url: Annotated[str, Form(alias="next")] = "",
    ) -> Response:
        scope = request.scope
        target = safe_next(next_url, auth.base(scope))
        if not same_origin(scope):
            return refusal(request, 403, _CROSS_SITE, next_url=target)
        client = _client(request)
        keys: list[tuple[str, str]] = [("user", username.casefold())]
        if client:
            keys.append(("client", client))
        wait = auth.throttle.attempt(keys, auth.monotonic())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            _log.debug("sign-in as %r from %s refused for %d s", username, client, seconds)
            return refusal(
                request,
                429,
                f"Too many failed sign-ins. Try again in {_duration(seconds)}.",
                next_url=target,
                username=username,
                headers={"Retry-After": str(seconds)},
            )
        detail: dict[str, Any] = {"client": client}
        if not await verify(auth.backend, username, password):
            _log.warning("sign-in to %s as %r from %s failed", auth.path, username, client)
            await auth.audit(username, AuditAction.LOGIN_FAILED, detail)
            return refusal(request, 401, _WRONG_CREDENTIALS, next_url=target, username=username)
        auth.throttle.succeeded(keys)
        value, session = auth.issue(username)
        response: Response
        if _wants_html(request):
            response = RedirectResponse(target, status_code=303)
        else:
            # Scripts get the token they must send with state-changing requests.
            response = JSONResponse(
                {"username": session.username, "csrf_token": session.csrf_token}
            )
        auth.set_cookie(response, scope, value)
        await auth.audit(username, AuditAction.LOGIN, detail)
        return response

    @router.post("/logout", include_in_schema=False, status_code=204)
    async def logout(request: Request) -> Response:
        # Only reached with a valid session and its CSRF token: the guard checks both.
        response = Response(status_code=204)
        auth.clear_cookie(response, request.scope)
        await auth.audit(principal_of(request), AuditAction.LOGOUT, {"client": _client(request)})
        return response

    return router


def safe_next(candidate: str, base: str) -> str:
    """Where to go after signing in: ``candidate`` when it is a path under ``base`` (the
    admin path as the browser sees it), else the dashboard. Never another site."""
    fallback = f"{base}/dashboard"
    if not candidate or len(candidate) > MAX_NEXT_LENGTH:
        return fallback
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in candidate):
        return fallback
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or parts.fragment:
        return fallback
    path = parts.path
    if not (path == base or path.startswith(f"{base}/")):
        return fallback
    # Browsers resolve "..", also written "%2e%2e", which could step out of the admin path.
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        return fallback
    if path == f"{base}/login":
        return fallback
    return candidate


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _wants_html(request: Request) -> bool:
    return "text/html" in (header(request.scope, b"accept") or "")


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
