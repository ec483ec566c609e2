"""The authentication settings of one ``TaskAdmin`` and what its guard and routes share."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import Scope

from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.entrypoints.fastapi.auth_backend import TaskAuthBackend, backend_from
from fastapi_taskflow.entrypoints.fastapi.login_throttle import LoginThrottle
from fastapi_taskflow.entrypoints.fastapi.session_token import Session, SessionSigner

if TYPE_CHECKING:
    from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

_log = logging.getLogger("fastapi_taskflow")

#: How long a session lasts when ``token_expiry`` is not given: a working day.
DEFAULT_TOKEN_EXPIRY = 8 * 3600
#: Shortest ``secret_key`` accepted without a warning; 32 random bytes or more are
#: recommended. Shorter keys still work, so apps written for 0.8 start unchanged.
MIN_SECRET_KEY_LENGTH = 16
#: Name of the session cookie. Its ``Path`` is the admin path, so admins mounted at different
#: paths keep separate sessions.
SESSION_COOKIE = "taskflow_session"


class AdminAuth:
    """Credentials, session signing and login throttling of the admin mounted at ``path``.

    Built by :meth:`from_options` from ``TaskAdmin``'s arguments; ``None`` there means the
    admin is open.
    """

    def __init__(
        self,
        *,
        path: str,
        backend: TaskAuthBackend,
        signer: SessionSigner,
        lifetime: int,
        manager: TaskManager,
    ) -> None:
        self.path = path
        self.backend = backend
        self.signer = signer
        self.lifetime = lifetime
        self.throttle = LoginThrottle()
        self._manager = manager

    @classmethod
    def from_options(
        cls,
        *,
        path: str,
        auth: object,
        secret_key: str | bytes | None,
        token_expiry: float | None,
        manager: TaskManager,
    ) -> AdminAuth | None:
        """Validate ``TaskAdmin``'s ``auth``, ``secret_key`` and ``token_expiry``.

        Raises:
            TypeError: For a value of the wrong type.
            ValueError: For an unusable value (see ``backend_from``), an empty ``secret_key``
                or a ``token_expiry`` below one second.
        """
        if auth is None:
            if secret_key is not None or token_expiry is not None:
                _log.warning(
                    "TaskAdmin(path=%r): secret_key and token_expiry have no effect without auth",
                    path,
                )
            return None
        backend = backend_from(auth)
        lifetime = _lifetime(token_expiry)
        if secret_key is None:
            _log.warning(
                "TaskAdmin(path=%r) has auth but no secret_key: sessions are signed with a "
                "random key made at start-up, so they end when the process restarts and are "
                "refused by other instances of the app; pass the same secret_key to every "
                "instance to avoid that",
                path,
            )
            secret_key = secrets.token_bytes(32)
        else:
            _check_secret_key(secret_key)
        return cls(
            path=path,
            backend=backend,
            signer=SessionSigner(secret_key, audience=path),
            lifetime=lifetime,
            manager=manager,
        )

    # -- paths ------------------------------------------------------------------------

    @property
    def login_path(self) -> str:
        return f"{self.path}/login"

    def covers(self, route_path: str) -> bool:
        """Whether a request for ``route_path`` (without the root path) is under the admin."""
        return route_path == self.path or route_path.startswith(f"{self.path}/")

    def is_public(self, route_path: str) -> bool:
        """The login page and form, and the package's CSS and JavaScript."""
        return route_path == self.login_path or route_path.startswith(f"{self.path}/static/")

    def base(self, scope: Scope) -> str:
        """The admin path as the browser sees it (behind a proxy or in a mounted app)."""
        return str(scope.get("root_path", "")).rstrip("/") + self.path

    # -- sessions ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self._manager.service.clock.now()

    def monotonic(self) -> float:
        return self._manager.service.clock.monotonic()

    def session_of(self, scope: Scope) -> Session | None:
        """The valid session the request's cookies carry, if any.

        Every cookie of the session's name is tried: a browser sends one per matching path,
        for instance when admins are mounted at ``/admin`` and ``/admin/tasks``.
        """
        now = self.now()
        for value in cookie_values(scope, SESSION_COOKIE):
            session = self.signer.read(value, now=now)
            if session is not None:
                return session
        return None

    def issue(self, username: str) -> tuple[str, Session]:
        """A new session for ``username`` and the cookie value carrying it."""
        return self.signer.issue(username, now=self.now(), lifetime=self.lifetime)

    def set_cookie(self, response: Response, scope: Scope, value: str) -> None:
        """Set the session cookie ``value`` on ``response``."""
        response.set_cookie(SESSION_COOKIE, value, max_age=self.lifetime, **self._cookie(scope))

    def clear_cookie(self, response: Response, scope: Scope) -> None:
        """Make the browser drop the session cookie."""
        response.delete_cookie(SESSION_COOKIE, **self._cookie(scope))

    def _cookie(self, scope: Scope) -> dict[str, Any]:
        # SameSite=Strict: browsers never send the cookie with a request another site
        # started, which also makes a cross-site link to the dashboard open the login page.
        return {
            "path": self.base(scope),
            "secure": scope.get("scheme") in ("https", "wss"),
            "httponly": True,
            "samesite": "strict",
        }

    # -- audit ------------------------------------------------------------------------

    async def audit(
        self, actor: str | None, action: AuditAction, detail: Mapping[str, Any]
    ) -> None:
        """Record a sign-in event. A store that cannot take it does not lock operators out
        of the dashboard (which they may need to see what is wrong): the event is logged."""
        try:
            await self._manager.service.record_audit(actor, action, detail=detail)
        except Exception:
            _log.exception(
                "could not store the audit entry %s of %r (%s)", action.value, actor, detail
            )


def _lifetime(token_expiry: object) -> int:
    if token_expiry is None:
        return DEFAULT_TOKEN_EXPIRY
    if isinstance(token_expiry, bool) or not isinstance(token_expiry, (int, float)):
        raise TypeError(
            f"token_expiry must be a number of seconds, got {type(token_expiry).__name__}"
        )
    if not token_expiry >= 1:
        raise ValueError(f"token_expiry must be at least 1 second, got {token_expiry!r}")
    return int(token_expiry)


def _check_secret_key(secret_key: object) -> None:
    if not isinstance(secret_key, (str, bytes)):
        raise TypeError(f"secret_key must be a str or bytes, got {type(secret_key).__name__}")
    if not secret_key:
        raise ValueError("secret_key must not be empty")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        _log.warning(
            "TaskAdmin secret_key is shorter than %d characters, so session cookies are easier "
            'to forge; make a strong one with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"',
            MIN_SECRET_KEY_LENGTH,
        )


# -- reading the request ------------------------------------------------------------------


def route_path(scope: Scope) -> str:
    """The request path without the root path, as routing matches it."""
    path = str(scope["path"])
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of the header ``name`` (lower case), decoded as latin-1."""
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header ``name`` (lower case), if any."""
    values = header_values(scope, name)
    return values[0] if values else None


def cookie_values(scope: Scope, name: str) -> list[str]:
    """Every value the ``Cookie`` headers give ``name``, in order."""
    found = []
    for line in header_values(scope, b"cookie"):
        for pair in line.split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key == name:
                found.append(value.strip().strip('"'))
    return found


def same_origin(scope: Scope) -> bool:
    """Whether a browser sent the request from a page of this host.

    The ``Origin`` header (or, without it, ``Referer``) must name the ``Host`` the request
    was sent to, or one of the ``X-Forwarded-Host`` values a proxy set (a cross-site page
    cannot add that header to a request). Clients that send neither, such as scripts, pass.
    """
    source = header(scope, b"origin") or header(scope, b"referer")
    if source is None:
        return True
    if source == "null":
        return False
    claimed = _netloc(urlsplit(source).netloc)
    if not claimed:
        return False
    hosts = [*header_values(scope, b"host")]
    for forwarded in header_values(scope, b"x-forwarded-host"):
        hosts.extend(forwarded.split(","))
    return any(_netloc(host.strip()) == claimed for host in hosts)


def _netloc(netloc: str) -> str:
    netloc = netloc.lower()
    for default_port in (":80", ":443"):
        if netloc.endswith(default_port):
            return netloc[: -len(default_port)]
    return netloc
