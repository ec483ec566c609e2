"""Column types that behave the same on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, String, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from fastapi_taskflow.domain.clock_rules import as_utc

#: Text without MySQL's 64 KiB TEXT limit (logs and stack traces can be long).
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

#: Bytes without MySQL's 64 KiB BLOB limit (task arguments can be large).
LongBytes = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def exact_string(length: int) -> TypeEngine[str]:
    """A string compared and ordered byte for byte, like Python compares ``str``.

    Ids, keys and tags must not match case-insensitively (MySQL's default collation would) and
    must sort the same way on every database, or cursors would page differently per store.
    """
    binary = mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return (
        String(length)
        .with_variant(binary, "mysql", "mariadb")
        .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
    )


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time stored as naive UTC and read back timezone-aware.

    Not every database keeps an offset (SQLite and MySQL do not), so every value is converted to
    UTC and stored without one; that keeps ordering and range filters correct everywhere.
    MySQL gets microsecond precision, which its ``DATETIME`` lacks by default.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)
