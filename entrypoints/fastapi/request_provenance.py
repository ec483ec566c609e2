"""What a task records about the HTTP request that enqueued it."""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from starlette.types import Scope

from fastapi_taskflow.domain.limits import MAX_NAME_LENGTH
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.entrypoints.fastapi.principal import PRINCIPAL_SCOPE_KEY

#: The ASGI scope of the request being handled. Set by the request middleware; sync routes
#: see it too, since their threads run in a copy of the request's context.
current_request_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "fastapi_taskflow_request_scope", default=None
)

#: The header a request id is read from (and the scope key a made-up one is kept under, so
#: every task of one request shares it).
REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID_SCOPE_KEY = "fastapi_taskflow.request_id"


def request_provenance() -> Provenance | None:
    """The provenance of the request being handled, or ``None`` outside a request."""
    scope = current_request_scope.get()
    if scope is None:
        return None
    return Provenance(
        route=_clip(_route_of(scope)),
        method=_clip(scope.get("method")),
        request_id=_request_id(scope),
        principal=_clip(_principal_of(scope)),
    )


def _route_of(scope: Scope) -> str | None:
    # The router stores the matched route in the scope before calling the endpoint.
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        root: str = scope.get("root_path", "")
        return root + template
    path = scope.get("path")
    return path if isinstance(path, str) else None


def _request_id(scope: Scope) -> str:
    known = scope.get(_REQUEST_ID_SCOPE_KEY)
    if isinstance(known, str):
        return known
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER:
            found = _clip(value.decode("latin-1").strip())
            if found:
                scope[_REQUEST_ID_SCOPE_KEY] = found
                return found
    made_up = uuid.uuid4().hex
    scope[_REQUEST_ID_SCOPE_KEY] = made_up
    return made_up


def _principal_of(scope: Scope) -> str | None:
    # The dashboard's own sign-in first, then Starlette's AuthenticationMiddleware.
    ours = scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(ours, str):
        return ours
    user: Any = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name = getattr(user, "display_name", None) or getattr(user, "identity", None)
    return name if isinstance(name, str) and name else None


def _clip(value: object) -> str | None:
    # Provenance is informative: an over-long header or path is shortened, never refused.
    if not isinstance(value, str) or not value:
        return None
    return value[:MAX_NAME_LENGTH]
