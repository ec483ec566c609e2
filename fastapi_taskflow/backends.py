"""Storage backends of the original API: ``TaskManager(snapshot_backend=...)``."""

from __future__ import annotations

from fastapi_taskflow.entrypoints.backends import (
    MySQLBackend,
    PostgresBackend,
    RedisBackend,
    SnapshotBackend,
    SqliteBackend,
)

__all__ = ["MySQLBackend", "PostgresBackend", "RedisBackend", "SnapshotBackend", "SqliteBackend"]
