"""What ``TaskAdmin`` accepts for ``auth``, ``secret_key`` and ``token_expiry``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.entrypoints.fastapi.admin_auth import DEFAULT_TOKEN_EXPIRY

KEY = "0123456789abcdef-0123456789"


def admin(**options: Any) -> TaskAdmin:
    return TaskAdmin(FastAPI(), TaskManager(), **options)


def test_without_auth_the_admin_is_open() -> None:
    assert admin().auth is None


def test_auth_with_defaults() -> None:
    built = admin(auth=("alice", "wonderland"), secret_key=KEY)

    assert built.auth is not None
    assert built.auth.lifetime == DEFAULT_TOKEN_EXPIRY == 8 * 3600


@pytest.mark.parametrize(("token_expiry", "lifetime"), [(60, 60), (1, 1), (90.5, 90)])
def test_token_expiry_sets_the_session_lifetime(token_expiry: float, lifetime: int) -> None:
    built = admin(auth=("alice", "wonderland"), secret_key=KEY, token_expiry=token_expiry)

    assert built.auth is not None
    assert built.auth.lifetime == lifetime


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"auth": "alice:wonderland"}, TypeError, "auth= must be"),
        ({"auth": []}, ValueError, "empty list"),
        ({"secret_key": ""}, ValueError, "must not be empty"),
        ({"secret_key": 1234567890123456789}, TypeError, "secret_key must be a str or bytes"),
        ({"token_expiry": 0}, ValueError, "at least 1 second"),
        ({"token_expiry": -5}, ValueError, "at least 1 second"),
        ({"token_expiry": float("nan")}, ValueError, "at least 1 second"),
        ({"token_expiry": "3600"}, TypeError, "token_expiry must be a number"),
        ({"token_expiry": True}, TypeError, "token_expiry must be a number"),
    ],
)
def test_unusable_values_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    app = FastAPI()
    untouched = [route.path for route in app.routes]  # type: ignore[attr-defined]
    options = {"auth": ("alice", "wonderland"), "secret_key": KEY, **options}

    with pytest.raises(error, match=message):
        TaskAdmin(app, TaskManager(), **options)
    assert [route.path for route in app.routes] == untouched  # type: ignore[attr-defined]
    assert app.user_middleware == []


def test_a_missing_secret_key_is_made_up_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fastapi_taskflow"):
        built = admin(auth=("alice", "wonderland"))

    assert built.auth is not None
    (record,) = [r for r in caplog.records if "secret_key" in r.getMessage()]
    assert "refused by other instances" in record.getMessage()


def test_secret_key_without_auth_is_pointed_out(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fastapi_taskflow"):
        built = admin(secret_key=KEY, token_expiry=60)

    assert built.auth is None
    assert any("no effect without auth" in r.getMessage() for r in caplog.records)


def test_a_short_secret_key_still_works_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # 0.8 accepted any key; an app upgraded with a short one keeps starting.
    app = FastAPI()
    with caplog.at_level("WARNING", logger="fastapi_taskflow"):
        TaskAdmin(app, TaskManager(), auth=("alice", "wonderland"), secret_key="short")
    assert "shorter than 16 characters" in caplog.text
