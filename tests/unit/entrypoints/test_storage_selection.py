"""Choosing the store from a URL, an environment variable or an original backend object."""

from __future__ import annotations

import sys

import pytest

from fastapi_taskflow import TaskManager
from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.events.local_broadcast import LocalBroadcast
from fastapi_taskflow.adapters.events.postgres_broadcast import PostgresChangeBroadcast
from fastapi_taskflow.adapters.events.redis_broadcast import RedisChangeBroadcast
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage
from fastapi_taskflow.backends import MySQLBackend, PostgresBackend, RedisBackend, SqliteBackend
from fastapi_taskflow.entrypoints.storage_selection import (
    STORAGE_URL_ENV,
    build_broadcast,
    build_storage,
    redis_prefix,
)

#: Nothing listens here: building a store must not try to connect.
UNREACHABLE = "127.0.0.1:1"


def build(url: str) -> object:
    return build_storage(url, TaggedJsonSerializer(), FakeClock())


@pytest.mark.parametrize(
    ("url", "adapter"),
    [
        ("memory://", MemoryTaskStorage),
        ("sqlite:///tasks.db", SqlAlchemyTaskStorage),
        ("sqlite+aiosqlite:///tasks.db", SqlAlchemyTaskStorage),
        (f"postgresql://user@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"postgres://user@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"postgresql+psycopg://user@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"mysql://root@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"mysql+aiomysql://root@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"mariadb://root@{UNREACHABLE}/db", SqlAlchemyTaskStorage),
        (f"redis://{UNREACHABLE}/0", RedisTaskStorage),
        (f"rediss://{UNREACHABLE}/0", RedisTaskStorage),
    ],
)
def test_the_url_picks_the_adapter_without_connecting(url: str, adapter: type) -> None:
    assert isinstance(build(url), adapter)


@pytest.mark.parametrize("url", ["mongodb://db/x", "tasks.db", "", "oracle://db"])
def test_an_unknown_url_is_refused_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(ValueError, match=r"expected memory://, sqlite:///path.db"):
        build(url)


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        (f"postgresql://u@{UNREACHABLE}/db", "asyncpg", "postgres"),
        (f"postgresql+psycopg://u@{UNREACHABLE}/db", "psycopg", "postgres"),
        (f"mysql://u@{UNREACHABLE}/db", "asyncmy", "mysql"),
        (f"redis://{UNREACHABLE}/0", "redis", "redis"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install_when_the_manager_is_made(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(ImportError, match=rf'pip install "fastapi-taskflow\[{extra}\]"'):
        TaskManager(storage_url=url)


def test_the_environment_variable_names_the_store_when_the_code_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(STORAGE_URL_ENV, f"postgresql://u@{UNREACHABLE}/db")

    assert isinstance(TaskManager().service.storage, SqlAlchemyTaskStorage)
    assert isinstance(TaskManager(storage_url="memory://").service.storage, MemoryTaskStorage)


@pytest.mark.parametrize(
    "backend",
    [
        SqliteBackend("tasks.db"),
        PostgresBackend(f"postgresql://u@{UNREACHABLE}/db"),
        MySQLBackend(f"mysql://u@{UNREACHABLE}/db"),
    ],
)
def test_the_original_sql_backends_select_the_sql_store(backend: object) -> None:
    manager = TaskManager(snapshot_backend=backend)  # type: ignore[arg-type]

    assert isinstance(manager.service.storage, SqlAlchemyTaskStorage)


def test_a_redis_backend_ttl_becomes_the_retention() -> None:
    backend = RedisBackend(f"redis://{UNREACHABLE}/2", ttl=172_800)

    assert TaskManager(snapshot_backend=backend).retention_days == pytest.approx(2.0)
    assert TaskManager(snapshot_backend=backend, retention_days=7).retention_days == 7
    assert TaskManager(snapshot_backend=RedisBackend()).retention_days is None


def test_a_redis_url_may_name_the_key_prefix() -> None:
    assert redis_prefix("redis://host:6379/0?prefix=shop&ssl_cert_reqs=none", None) == (
        "redis://host:6379/0?ssl_cert_reqs=none",
        "shop",
    )
    assert redis_prefix("redis://host/0", None) == ("redis://host/0", "taskflow")
    assert redis_prefix("redis://host/0?prefix=url", "backend") == ("redis://host/0", "backend")


@pytest.mark.parametrize(
    ("url", "broadcast"),
    [
        ("memory://", LocalBroadcast),
        ("sqlite:///tasks.db", LocalBroadcast),
        (f"mysql://u@{UNREACHABLE}/db", LocalBroadcast),
        (f"postgresql://u@{UNREACHABLE}/db", PostgresChangeBroadcast),
        (f"redis://{UNREACHABLE}/0", RedisChangeBroadcast),
    ],
)
def test_stores_with_a_notification_channel_share_changes_through_it(
    url: str, broadcast: type
) -> None:
    assert isinstance(build_broadcast(url, "instance-a"), broadcast)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_crash_reruns", -1),
        ("max_crash_reruns", 1.5),
        ("max_storage_backlog", 0),
        ("max_storage_backlog", True),
        ("storage_url", ""),
    ],
)
def test_bad_storage_options_fail_at_construction(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        TaskManager(**{option: value})  # type: ignore[arg-type]
