"""Admin sessions as signed, expiring cookie values: no server-side session store.

A value reads ``1.<user>.<session id>.<expires>.<signature>``: the format version, the user
name (base64url), 16 random bytes (base64url), the expiry in Unix seconds and an HMAC-SHA256
over all of it and the admin path, so a session made for one admin path is refused on another.
The CSRF token is a second HMAC of the session id, so it needs no storage either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime

import attrs

_VERSION = "1"


@attrs.frozen
class Session:
    """A verified session."""

    username: str
    session_id: str
    #: Unix seconds after which the session is refused.
    expires: int
    csrf_token: str


class SessionSigner:
    """Issues and verifies session values for one admin path.

    Args:
        secret_key: Signs the values; every instance serving the admin must share it.
        audience: What the values are bound to (the admin path).
    """

    def __init__(self, secret_key: str | bytes, *, audience: str) -> None:
        raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
        # One key per purpose, so a signature of one kind can never pass for the other.
        self._session_key = hmac.new(raw, b"fastapi-taskflow session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(raw, b"fastapi-taskflow csrf", hashlib.sha256).digest()
        self._audience = audience.encode()

    def issue(self, username: str, *, now: datetime, lifetime: int) -> tuple[str, Session]:
        """A new session for ``username`` valid for ``lifetime`` seconds, and its cookie value."""
        session_id = _encode(secrets.token_bytes(16))
        expires = int(now.timestamp()) + lifetime
        body = f"{_VERSION}.{_encode(username.encode())}.{session_id}.{expires}"
        value = f"{body}.{self._sign(body)}"
        return value, Session(username, session_id, expires, self.csrf_token(session_id))

    def read(self, value: str, *, now: datetime) -> Session | None:
        """The session in ``value``, or ``None`` if it is malformed, tampered with or expired."""
        body, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        parts = body.split(".")
        if len(parts) != 4:
            return None
        version, user, session_id, stamp = parts
        if version != _VERSION:
            return None
        try:
            expires = int(stamp)
            username = _decode(user).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        if expires <= now.timestamp():
            return None
        return Session(username, session_id, expires, self.csrf_token(session_id))

    def csrf_token(self, session_id: str) -> str:
        """The token state-changing requests of this session must carry."""
        return _encode(hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).digest())

    def _sign(self, body: str) -> str:
        message = self._audience + b"\x00" + body.encode()
        return _encode(hmac.new(self._session_key, message, hashlib.sha256).digest())


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
