"""Expiring named locks kept in the ``taskflow_locks`` table, shared by every client."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fastapi_taskflow.adapters.storage.sqlalchemy_dialects import insert_ignore
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import locks
from fastapi_taskflow.adapters.storage.storage_rules import check_lock_ttl

#: Opens a writing transaction on the store's database.
WriteTransaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class SqlLockTable:
    """The :class:`~fastapi_taskflow.ports.locks.LockManager` of the SQL store.

    A lock is a row naming its owner and when it expires; a row whose time has passed is free
    for the next taker. Expiry is measured with the wall clock (UTC) of the process that
    writes the row, so instances sharing a database need clocks roughly in sync (within a
    small part of the shortest lock lifetime), as their instance leases already do.

    Args:
        transaction: Opens a writing transaction; each step below runs in its own.
    """

    def __init__(self, transaction: WriteTransaction) -> None:
        self._transaction = transaction

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds, or extend it when ``owner`` holds it already.

        A free name is taken by inserting its row; a row that exists is taken over by an
        update conditional on it being ``owner``'s or expired. Each statement is atomic, so
        of several clients racing for one lock exactly one wins.

        The two steps run in separate transactions on purpose: in MySQL/MariaDB an insert
        that finds the row already there keeps a shared lock on it until its transaction
        ends, and racers that each hold one and then want to update the row deadlock.

        Raises:
            ValueError: ``ttl`` is not positive.
        """
        check_lock_ttl(ttl)
        now = datetime.now(timezone.utc)
        expires_at = now + timedelta(seconds=ttl)
        row = {"name": key, "owner": owner, "expires_at": expires_at}
        # Repeats only when the row is released between the two steps.
        while True:
            async with self._transaction() as connection:
                inserted = await connection.execute(insert_ignore(connection.dialect, locks), row)
            if inserted.rowcount == 1:
                return True
            async with self._transaction() as connection:
                taken = await connection.execute(
                    update(locks)
                    .where(
                        locks.c.name == key,
                        or_(locks.c.owner == owner, locks.c.expires_at <= now),
                    )
                    .values(owner=owner, expires_at=expires_at)
                )
                if taken.rowcount == 1:
                    return True
                held = await connection.scalar(select(locks.c.name).where(locks.c.name == key))
            if held is not None:
                return False

    async def release(self, key: str, owner: str) -> bool:
        """Give ``key`` up. False when ``owner`` did not hold it or its time had run out."""
        now = datetime.now(timezone.utc)
        async with self._transaction() as connection:
            result = await connection.execute(
                delete(locks).where(
                    locks.c.name == key, locks.c.owner == owner, locks.c.expires_at > now
                )
            )
        return bool(result.rowcount == 1)
