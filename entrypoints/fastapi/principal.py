"""What the authentication layer established about an admin request.

The authentication guard writes these scope entries; routes and pages only read them, so they
work the same with authentication on or off.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

#: Key of the ASGI scope entry holding the signed-in user's name.
PRINCIPAL_SCOPE_KEY = "fastapi_taskflow.user"
#: Key of the scope entry holding the session's CSRF token, which state-changing requests
#: must echo in the :data:`CSRF_HEADER` header.
CSRF_SCOPE_KEY = "fastapi_taskflow.csrf"
CSRF_HEADER = "X-Taskflow-CSRF"


def principal_of(connection: HTTPConnection) -> str | None:
    """The signed-in user, or ``None`` when the admin runs without authentication."""
    user = connection.scope.get(PRINCIPAL_SCOPE_KEY)
    return user if isinstance(user, str) else None


def csrf_token_of(connection: HTTPConnection) -> str | None:
    """The token the page must send back with state-changing requests, if any."""
    token = connection.scope.get(CSRF_SCOPE_KEY)
    return token if isinstance(token, str) else None
