"""Choosing the storage adapter from the configuration (a URL)."""

from __future__ import annotations

import os

from fastapi_taskflow.entrypoints.backends import SnapshotBackend
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import TaskStorage

#: Environment variable naming the storage URL when the code does not.
STORAGE_URL_ENV = "TASKFLOW_STORAGE_URL"


def resolve_storage_url(
    *,
    storage_url: str | None,
    snapshot_db: str | None,
    snapshot_backend: SnapshotBackend | None,
) -> str:
    """The storage URL to use, by precedence: ``storage_url``, ``snapshot_backend``,
    ``snapshot_db``, the ``TASKFLOW_STORAGE_URL`` environment variable, then ``memory://``."""
    if storage_url is not None:
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


def build_storage(url: str, serializer: Serializer) -> TaskStorage:
    """Make the storage adapter for ``url``; adapters with optional drivers load lazily."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "memory":
        from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage

        return MemoryTaskStorage()
    if scheme.startswith("sqlite"):
        from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

        return SqlAlchemyTaskStorage(url, serializer=serializer)
    if scheme.startswith(("postgres", "mysql", "mariadb", "redis")):
        raise NotImplementedError(
            f"storage {scheme!r} (given through storage_url, snapshot_backend or "
            f"{STORAGE_URL_ENV}) is not available in this release yet; use memory:// or "
            "sqlite:///path.db"
        )
    raise ValueError(
        f"unknown storage URL {url!r}; expected memory://, sqlite:///path.db, "
        "postgresql://..., mysql://... or redis://..."
    )
