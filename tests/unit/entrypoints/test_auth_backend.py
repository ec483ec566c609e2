"""Credential checks: the built-in list, custom backends and what ``auth=`` accepts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fastapi_taskflow import TaskAuthBackend
from fastapi_taskflow.entrypoints.fastapi.auth_backend import (
    CredentialList,
    backend_from,
    verify,
)


async def test_a_single_pair_signs_in_its_user_only() -> None:
    backend = backend_from(("alice", "wonderland"))

    assert await verify(backend, "alice", "wonderland") is True
    assert await verify(backend, "alice", "Wonderland") is False
    assert await verify(backend, "Alice", "wonderland") is False
    assert await verify(backend, "bob", "wonderland") is False
    assert await verify(backend, "", "") is False


async def test_a_list_signs_in_each_user_with_their_own_password() -> None:
    backend = backend_from([("alice", "wonderland"), ("bob", "builder")])

    assert await verify(backend, "alice", "wonderland") is True
    assert await verify(backend, "bob", "builder") is True
    assert await verify(backend, "alice", "builder") is False
    assert await verify(backend, "bob", "wonderland") is False


def test_the_credential_list_keeps_no_password_in_clear() -> None:
    backend = backend_from(("alice", "a-very-recognisable-password"))

    assert isinstance(backend, CredentialList)
    assert "a-very-recognisable-password" not in repr(vars(backend))


class _Backend(TaskAuthBackend):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []


class _SyncBackend(_Backend):
    def authenticate(self, username: str, password: str) -> bool:
        self.calls.append((username, password, threading.current_thread().name))
        return password == f"{username}-pass"


class _AsyncBackend(_Backend):
    async def authenticate(self, username: str, password: str) -> bool:
        self.calls.append((username, password, threading.current_thread().name))
        return password == f"{username}-pass"


@pytest.mark.parametrize("backend_class", [_SyncBackend, _AsyncBackend])
async def test_custom_backends_are_asked(backend_class: type[_Backend]) -> None:
    backend = backend_class()

    assert backend_from(backend) is backend
    assert await verify(backend, "carol", "carol-pass") is True
    assert await verify(backend, "carol", "wrong") is False
    assert [call[:2] for call in backend.calls] == [("carol", "carol-pass"), ("carol", "wrong")]


async def test_a_plain_authenticate_runs_off_the_event_loop() -> None:
    backend = _SyncBackend()
    await verify(backend, "carol", "x")

    assert backend.calls[0][2] != threading.current_thread().name


@pytest.mark.parametrize("answer", [None, 1, "yes", object()])
async def test_an_answer_that_is_not_a_bool_is_an_error(answer: Any) -> None:
    class Sloppy(TaskAuthBackend):
        def authenticate(self, username: str, password: str) -> Any:
            return answer

    with pytest.raises(TypeError, match=r"Sloppy\.authenticate\(\) must return a bool"):
        await verify(Sloppy(), "alice", "x")


async def test_a_backend_without_authenticate_says_so() -> None:
    class Unfinished(TaskAuthBackend):
        pass

    with pytest.raises(NotImplementedError, match="Unfinished must implement authenticate"):
        await verify(Unfinished(), "alice", "x")


@pytest.mark.parametrize(
    ("auth", "error", "message"),
    [
        ("alice:secret", TypeError, "must be a \\(username, password\\) tuple"),
        ({"alice": "secret"}, TypeError, "got dict"),
        (
            ("alice",),
            TypeError,
            "auth must be a \\(username, password\\) tuple, got \\('alice',\\)",
        ),
        (("alice", "secret", "extra"), TypeError, "auth must be a \\(username, password\\) tuple"),
        (("alice", 1234), TypeError, "must hold two strings, got \\(str, int\\)"),
        ([("alice", "secret"), "bob"], TypeError, "auth\\[1\\]"),
        ([], ValueError, "empty list"),
        (("", "secret"), ValueError, "empty user name or password"),
        (("alice", ""), ValueError, "empty user name or password"),
        ([("alice", "a"), ("alice", "b")], ValueError, "names the user 'alice' more than once"),
        (("alice", "x" * 2000), ValueError, "too long"),
        (_SyncBackend, TypeError, "an instance of _SyncBackend, not the class"),
        (lambda u, p: True, TypeError, "got function"),
    ],
)
def test_unusable_auth_values_are_refused_precisely(
    auth: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        backend_from(auth)
