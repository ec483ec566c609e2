"""Session cookie values: signed, bound to one admin path, expiring, tamper-evident."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from fastapi_taskflow.entrypoints.fastapi.session_token import SessionSigner

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
KEY = "a-secret-key-of-some-length"


def signer(key: str | bytes = KEY, audience: str = "/tasks") -> SessionSigner:
    return SessionSigner(key, audience=audience)


def test_an_issued_value_reads_back_as_its_session() -> None:
    value, issued = signer().issue("alice", now=NOW, lifetime=3600)

    session = signer().read(value, now=NOW + timedelta(seconds=3599))

    assert session == issued
    assert session is not None
    assert session.username == "alice"
    assert session.expires == int(NOW.timestamp()) + 3600


def test_a_session_is_refused_from_its_expiry_on() -> None:
    value, _ = signer().issue("alice", now=NOW, lifetime=60)

    assert signer().read(value, now=NOW + timedelta(seconds=60)) is None
    assert signer().read(value, now=NOW + timedelta(days=1)) is None


def test_user_names_of_any_kind_survive_the_round_trip() -> None:
    name = "Zoë.o'Brien; admin=1 \u2603"
    value, _ = signer().issue(name, now=NOW, lifetime=60)

    session = signer().read(value, now=NOW)

    assert session is not None
    assert session.username == name


def _with_part(value: str, index: int, part: str) -> str:
    parts = value.split(".")
    parts[index] = part
    return ".".join(parts)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, "2"),  # another format version
        (1, _b64("mallory")),  # another user
        (2, "AAAAAAAAAAAAAAAAAAAAAA"),  # another session id
        (3, "9999999999"),  # a later expiry
        (4, "A" * 43),  # another signature
    ],
)
def test_changing_any_part_invalidates_the_value(index: int, replacement: str) -> None:
    value, _ = signer().issue("alice", now=NOW, lifetime=60)

    assert signer().read(_with_part(value, index, replacement), now=NOW) is None


@pytest.mark.parametrize(
    "value", ["", ".", "garbage", "1.a.b.c", "1.a.b.c.d.e", "....", "1.%%%.x.12.sig"]
)
def test_malformed_values_are_refused(value: str) -> None:
    assert signer().read(value, now=NOW) is None


def test_values_of_another_key_or_admin_path_are_refused() -> None:
    value, _ = signer().issue("alice", now=NOW, lifetime=60)

    assert signer(key="another-secret-key-entirely").read(value, now=NOW) is None
    assert signer(audience="/admin/tasks").read(value, now=NOW) is None
    assert signer(key=KEY.encode()).read(value, now=NOW) is not None


def test_the_csrf_token_belongs_to_one_session() -> None:
    first_value, first = signer().issue("alice", now=NOW, lifetime=60)
    _, second = signer().issue("alice", now=NOW, lifetime=60)

    again = signer().read(first_value, now=NOW)

    assert again is not None
    assert again.csrf_token == first.csrf_token
    assert first.csrf_token != second.csrf_token
    assert first.csrf_token not in first_value
    assert signer(key="another-secret-key-entirely").csrf_token(first.session_id) != (
        first.csrf_token
    )
