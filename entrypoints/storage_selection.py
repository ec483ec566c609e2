"""Choosing the storage adapter (and the matching change broadcast) from a URL."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi_taskflow.entrypoints.backends import RedisBackend, SnapshotBackend
from fastapi_taskflow.ports.change_broadcast import ChangeBroadcast
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import TaskStorage

#: Environment variable naming the storage URL when the code does not.
STORAGE_URL_ENV = "TASKFLOW_STORAGE_URL"

#: Key prefix of the Redis store when neither the URL nor a backend names one.
DEFAULT_REDIS_PREFIX = "taskflow"

_ACCEPTED = (
    "memory://, sqlite:///path.db, postgresql://..., postgresql+asyncpg://..., "
    "postgresql+psycopg://..., mysql://..., mysql+asyncmy://..., mysql+aiomysql://..., "
    "mariadb://... or redis://... (rediss:// for TLS)"
)


def resolve_storage_url(
    *,
    storage_url: str | None,
    snapshot_db: str | None,
    snapshot_backend: SnapshotBackend | None,
) -> str:
    """The storage URL to use, by precedence: ``storage_url``, ``snapshot_backend``,
    ``snapshot_db``, the ``TASKFLOW_STORAGE_URL`` environment variable, then ``memory://``."""
    if storage_url is not None:
        if not isinstance(storage_url, str) or not storage_url:
            raise ValueError(f"storage_url must be a non-empty URL, got {storage_url!r}")
        return storage_url
    if snapshot_backend is not None:
        if not isinstance(snapshot_backend, SnapshotBackend):
            raise TypeError(
                "snapshot_backend must be a backend from fastapi_taskflow.backends, got "
                f"{type(snapshot_backend).__name__}"
            )
        return snapshot_backend.storage_url
    if snapshot_db is not None:
        if not snapshot_db:
            raise ValueError("snapshot_db must be a file path")
        return f"sqlite:///{snapshot_db}"
    return os.environ.get(STORAGE_URL_ENV) or "memory://"


def storage_options(snapshot_backend: SnapshotBackend | None) -> dict[str, Any]:
    """Adapter options a backend object carries beyond its URL (Redis prefix and client)."""
    if isinstance(snapshot_backend, RedisBackend):
        return {"prefix": snapshot_backend.prefix, "client_kwargs": snapshot_backend.client_kwargs}
    return {}


def storage_kind(url: str) -> str:
    """``memory``, ``sqlite``, ``postgresql``, ``mysql`` or ``redis``.

    Raises:
        ValueError: the URL names no supported store.
    """
    scheme = url.split(":", 1)[0].lower()
    base = scheme.split("+", 1)[0]
    if base == "memory":
        return "memory"
    if base == "sqlite":
        return "sqlite"
    if base in ("postgresql", "postgres"):
        return "postgresql"
    if base in ("mysql", "mariadb"):
        return "mysql"
    if base in ("redis", "rediss", "unix") and "://" in url:
        return "redis"
    raise ValueError(f"unknown storage URL {url!r}; expected {_ACCEPTED}")


def build_storage(
    url: str, serializer: Serializer, clock: Clock, options: Mapping[str, Any] | None = None
) -> TaskStorage:
    """Make the storage adapter for ``url``. Nothing connects here: stores open at start-up.

    Raises:
        ValueError: unknown URL.
        ImportError: the store's driver is missing; the message names the extra to install.
    """
    kind = storage_kind(url)
    if kind == "memory":
        from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage

        return MemoryTaskStorage(clock=clock)
    if kind == "redis":
        _require_redis()
        from fastapi_taskflow.adapters.storage.redis_store import RedisTaskStorage

        plain_url, prefix = redis_prefix(url, (options or {}).get("prefix"))
        return RedisTaskStorage(
            plain_url,
            serializer=serializer,
            prefix=prefix,
            client_kwargs=(options or {}).get("client_kwargs"),
        )
    from fastapi_taskflow.adapters.storage.sqlalchemy_engine import require_driver
    from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

    require_driver(url)
    return SqlAlchemyTaskStorage(url, serializer=serializer)


def build_broadcast(
    url: str, instance_id: str, options: Mapping[str, Any] | None = None
) -> ChangeBroadcast:
    """How this instance tells the others sharing ``url``'s store about task changes.

    Redis uses pub/sub and PostgreSQL LISTEN/NOTIFY; other stores have no channel, so live
    views of other instances see changes by polling the shared store.
    """
    kind = storage_kind(url)
    if kind == "redis":
        from fastapi_taskflow.adapters.events.redis_broadcast import RedisChangeBroadcast

        plain_url, prefix = redis_prefix(url, (options or {}).get("prefix"))
        return RedisChangeBroadcast(
            plain_url,
            instance_id=instance_id,
            prefix=prefix,
            client_kwargs=(options or {}).get("client_kwargs"),
        )
    if kind == "postgresql":
        from fastapi_taskflow.adapters.events.postgres_broadcast import PostgresChangeBroadcast

        return PostgresChangeBroadcast(url, instance_id=instance_id)
    from fastapi_taskflow.adapters.events.local_broadcast import LocalBroadcast

    return LocalBroadcast()


def redis_prefix(url: str, prefix: str | None) -> tuple[str, str]:
    """Split a ``?prefix=`` query option off a Redis URL.

    Returns the URL without it and the prefix to use: ``prefix`` (from a ``RedisBackend``)
    first, then the URL's, then :data:`DEFAULT_REDIS_PREFIX`.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    from_url = [value for key, value in query if key == "prefix"]
    rest = [(key, value) for key, value in query if key != "prefix"]
    plain = urlunsplit(parts._replace(query=urlencode(rest)))
    chosen = prefix or (from_url[-1] if from_url else None) or DEFAULT_REDIS_PREFIX
    return plain, chosen


def _require_redis() -> None:
    try:
        found = importlib.util.find_spec("redis") is not None
    except ValueError:  # a module blocked in sys.modules has no spec
        found = False
    if not found:
        raise ImportError(
            'Redis storage needs the redis package: pip install "fastapi-taskflow[redis]"',
            name="redis",
        )
