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
    root: str = scope.get("root_path", "")
    template = _included_template(scope)
    if template is None:
        # The router stores the matched route in the scope before calling the endpoint.
        route = scope.get("route")
        found = getattr(route, "path_format", None) or getattr(route, "path", None)
        template = _with_prefix(scope, route, found) if isinstance(found, str) else None
    if template is not None:
        return root + template
    path = scope.get("path")
    return path if isinstance(path, str) else None


def _included_template(scope: Scope) -> str | None:
    # Recent FastAPI releases keep a route of an included router as it was declared (without
    # the router's prefix) in scope["route"], and the full template in their own scope entry.
    # Read defensively: it is not a documented interface.
    state = scope.get("fastapi")
    context = state.get("effective_route_context") if isinstance(state, dict) else None
    template = getattr(context, "path_format", None)
    return template if isinstance(template, str) and template.startswith("/") else None


def _with_prefix(scope: Scope, route: Any, template: str) -> str:
    """``template`` with the part of the path before it, when the route matched only a tail
    of the path (a router prefix the route does not carry)."""
    pattern = getattr(route, "path_regex", None)
    path = scope.get("path")
    if pattern is None or not isinstance(path, str):
        return template
    root: str = scope.get("root_path", "")
    local = path[len(root) :] if root and path.startswith(root) else path
    if pattern.match(local):
        return template
    for cut in range(1, len(local)):
        if local[cut] == "/" and pattern.match(local[cut:]):
            return local[:cut] + template
    return template


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
