"""Who may sign in to the admin: ``TaskAuthBackend`` and the built-in list of credentials."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
from collections.abc import Awaitable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

#: Longest user name and password the login form accepts (longer ones are refused before any
#: check runs, so a huge password cannot make hashing backends slow).
MAX_USERNAME_LENGTH = 256
MAX_PASSWORD_LENGTH = 1024


class TaskAuthBackend:
    """Checks the user name and password typed into the admin login form.

    Subclass it to sign users in against your own user store, LDAP or an identity service,
    and pass an instance as ``TaskAdmin(auth=...)``::

        class StaffOnly(TaskAuthBackend):
            async def authenticate(self, username: str, password: str) -> bool:
                user = await users.find(username)
                return user is not None and user.is_staff and user.check_password(password)

    ``authenticate`` may be a plain method or ``async``. A plain one runs in a worker thread,
    so it may block (a password hash, a directory lookup) without stalling the event loop.
    """

    def authenticate(self, username: str, password: str) -> bool | Awaitable[bool]:
        """Return ``True`` when ``password`` is right for ``username``, else ``False``.

        Exceptions are not caught: the login request fails with a server error and the login
        is neither granted nor counted as a failed attempt.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement authenticate()")


class CredentialList(TaskAuthBackend):
    """The backend behind ``auth=("user", "password")`` and ``auth=[(...), (...)]``.

    Every attempt is compared with every configured pair in constant time, so the answer
    takes as long for an unknown user as for a known one with a wrong password.
    """

    def __init__(self, credentials: Sequence[tuple[str, str]]) -> None:
        # Comparing keyed digests rather than the strings themselves keeps the comparison the
        # same length whatever was typed.
        self._key = secrets.token_bytes(32)
        self._pairs = [(self._digest(user), self._digest(secret)) for user, secret in credentials]

    def _digest(self, value: str) -> bytes:
        return hmac.new(self._key, value.encode(), hashlib.sha256).digest()

    async def authenticate(self, username: str, password: str) -> bool:
        user_digest = self._digest(username)
        password_digest = self._digest(password)
        found = False
        for user, secret in self._pairs:
            # No short-circuit: both comparisons run for every pair.
            same_user = hmac.compare_digest(user, user_digest)
            same_password = hmac.compare_digest(secret, password_digest)
            found |= same_user & same_password
        return found


def backend_from(auth: object) -> TaskAuthBackend:
    """The backend for a ``TaskAdmin(auth=...)`` value (not ``None``).

    Raises:
        TypeError: For a value that is neither a ``(user, password)`` pair, a list of pairs,
            nor a ``TaskAuthBackend`` instance.
        ValueError: For an empty list, an empty or overlong user name or password, or a user
            name given twice.
    """
    if isinstance(auth, TaskAuthBackend):
        return auth
    if isinstance(auth, type) and issubclass(auth, TaskAuthBackend):
        raise TypeError(f"auth= takes an instance of {auth.__name__}, not the class itself")
    if isinstance(auth, tuple) and auth and isinstance(auth[0], str):
        # A tuple starting with a name is meant as one pair, even a malformed one.
        return CredentialList([_credential(auth, "auth")])
    if isinstance(auth, (list, tuple)):
        if not auth:
            raise ValueError("auth= is an empty list: give at least one (username, password)")
        pairs = [_credential(item, f"auth[{index}]") for index, item in enumerate(auth)]
        seen: set[str] = set()
        for user, _ in pairs:
            if user in seen:
                raise ValueError(f"auth= names the user {user!r} more than once")
            seen.add(user)
        return CredentialList(pairs)
    raise TypeError(
        "auth= must be a (username, password) tuple, a list of such tuples or a "
        f"TaskAuthBackend instance, got {type(auth).__name__}"
    )


def _credential(item: Any, where: str) -> tuple[str, str]:
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise TypeError(f"{where} must be a (username, password) tuple, got {item!r}")
    user, password = item
    if not (isinstance(user, str) and isinstance(password, str)):
        raise TypeError(
            f"{where} must hold two strings, got ({type(user).__name__}, "
            f"{type(password).__name__})"
        )
    if not user or not password:
        raise ValueError(f"{where} has an empty user name or password")
    if len(user) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"{where} is too long to type into the login form (at most {MAX_USERNAME_LENGTH} "
            f"characters of user name and {MAX_PASSWORD_LENGTH} of password)"
        )
    return user, password


async def verify(backend: TaskAuthBackend, username: str, password: str) -> bool:
    """Ask ``backend``; a plain ``authenticate`` runs in a worker thread.

    Raises:
        TypeError: When the backend answers something other than a bool (a forgotten
            ``return`` must not be read as a refusal, nor a truthy object as a grant).
    """
    answer: object
    if inspect.iscoroutinefunction(backend.authenticate):
        answer = await backend.authenticate(username, password)
    else:
        answer = await run_in_threadpool(backend.authenticate, username, password)
    if inspect.isawaitable(answer):
        answer = await answer
    if not isinstance(answer, bool):
        raise TypeError(
            f"{type(backend).__name__}.authenticate() must return a bool, "
            f"got {type(answer).__name__}"
        )
    return answer
