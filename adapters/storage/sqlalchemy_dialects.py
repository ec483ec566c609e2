"""The statements whose spelling differs between SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect


def upsert(dialect: Dialect, table: Table, update: Sequence[str]) -> Insert:
    """An INSERT that replaces the ``update`` columns of a row whose primary key exists.

    Execute it with a list of parameter dictionaries (one per row).
    """
    if dialect.name in ("mysql", "mariadb"):
        mysql_insert = mysql.insert(table)
        return mysql_insert.on_duplicate_key_update(
            {name: mysql_insert.inserted[name] for name in update}
        )
    if dialect.name == "postgresql":
        pg_insert = postgresql.insert(table)
        return pg_insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={name: pg_insert.excluded[name] for name in update},
        )
    if dialect.name == "sqlite":
        sqlite_insert = sqlite.insert(table)
        return sqlite_insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={name: sqlite_insert.excluded[name] for name in update},
        )
    raise NotImplementedError(f"no upsert for the {dialect.name!r} database")


def insert_ignore(dialect: Dialect, table: Table) -> Insert:
    """An INSERT that does nothing (and reports no row) when the primary key exists."""
    if dialect.name in ("mysql", "mariadb"):
        return mysql.insert(table).prefix_with("IGNORE")
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no insert-or-ignore for the {dialect.name!r} database")
