"""Backend objects of the original API, kept so existing code works unchanged.

Each names a storage URL; the composition root turns the URL into a storage adapter.
"""

from __future__ import annotations

from typing import Any


class SnapshotBackend:
    """Base class of the storage backends accepted by ``TaskManager(snapshot_backend=...)``."""

    #: The storage URL this backend stands for (``sqlite:///tasks.db``, ``redis://...``).
    storage_url: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.storage_url!r})"


class SqliteBackend(SnapshotBackend):
    """A SQLite file. Several processes on one host may share it.

    Args:
        db_path: Path of the database file (created when missing).
    """

    def __init__(self, db_path: str = "tasks.db") -> None:
        if not db_path:
            raise ValueError("SqliteBackend needs a file path")
        self.db_path = db_path
        self.storage_url = f"sqlite:///{db_path}"


class RedisBackend(SnapshotBackend):
    """A Redis server (``pip install "fastapi-taskflow[redis]"``).

    Args:
        url: Connection URL, e.g. ``redis://localhost:6379/0``.
        prefix: Prefix of every key written, so several apps can share one database.
        ttl: Seconds finished task records are kept (``None``: until pruned).
        **client_kwargs: Extra options for the Redis client (timeouts, TLS, ...).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        prefix: str = "fbtm:snapshots",
        ttl: int | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = ttl
        self.client_kwargs = client_kwargs
        self.storage_url = url


class PostgresBackend(SnapshotBackend):
    """A PostgreSQL database (``pip install "fastapi-taskflow[postgres]"``).

    Args:
        url: Connection URL, e.g. ``postgresql://user:password@host:5432/dbname``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.storage_url = url


class MySQLBackend(SnapshotBackend):
    """A MySQL or MariaDB database (``pip install "fastapi-taskflow[mysql]"``).

    Args:
        url: Connection URL, e.g. ``mysql://user:password@host:3306/dbname``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.storage_url = url
