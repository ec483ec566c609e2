"""Backend objects of the original API, kept so existing code works unchanged.

Each names a storage URL; the composition root turns the URL into a storage adapter.
"""

from __future__ import annotations


class SnapshotBackend:
    """Base class of the storage backends accepted by ``TaskManager(snapshot_backend=...)``."""

    #: The storage URL this backend stands for (``sqlite:///tasks.db``, ``redis://...``).
    storage_url: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.storage_url!r})"


class SqliteBackend(SnapshotBackend):
    """A SQLite file. Several processes on one host may share it.

    Args:
        path: Path of the database file (created when missing).
    """

    def __init__(self, path: str = "tasks.db") -> None:
        if not path:
            raise ValueError("SqliteBackend needs a file path")
        self.path = path
        self.storage_url = f"sqlite:///{path}"


class RedisBackend(SnapshotBackend):
    """A Redis server (``pip install "fastapi-taskflow[redis]"``).

    Args:
        url: Connection URL, e.g. ``redis://localhost:6379/0``.
        prefix: Prefix of every key written, so several apps can share one database.
    """

    def __init__(
        self, url: str = "redis://localhost:6379/0", prefix: str = "fastapi_taskflow"
    ) -> None:
        self.url = url
        self.prefix = prefix
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
