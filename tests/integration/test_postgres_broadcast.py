"""Task changes between two instances through PostgreSQL LISTEN/NOTIFY, on a real server."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from fastapi_taskflow.adapters.events.postgres_broadcast import (
    WORKER_NAME,
    PostgresChangeBroadcast,
)
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

asyncpg = pytest.importorskip("asyncpg")

pytestmark = pytest.mark.integration

#: Longest wait for something that should happen within milliseconds; reaching it fails.
PATIENCE = 15.0

#: Pause between two looks at a condition that does not hold yet.
POLL = 0.02


def change(task_id: str, status: TaskStatus = TaskStatus.RUNNING) -> TaskChange:
    return TaskChange(task_id=task_id, func_name="send_email", status=status)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(POLL)


class Instance:
    """One application instance's broadcast and the changes it received."""

    def __init__(self, url: str, name: str, channel: str) -> None:
        # The application name tells this instance's connection apart in pg_stat_activity.
        self.application_name = f"{name}-{uuid.uuid4().hex[:8]}"
        self.broadcast = PostgresChangeBroadcast(
            f"{url}?application_name={self.application_name}",
            instance_id=name,
            channel=channel,
        )
        self.received: list[TaskChange] = []

    def got(self, task_id: str) -> bool:
        return any(item.task_id == task_id for item in self.received)


@pytest.fixture
def channel() -> str:
    """A channel no other test listens on."""
    return f"taskflow_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def admin(postgres_url: str) -> AsyncIterator[Any]:
    """A plain connection to the test database, outside any broadcast."""
    connection = await asyncpg.connect(postgres_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def instances(
    postgres_url: str, channel: str
) -> Callable[[], Awaitable[tuple[Instance, Instance]]]:
    """Opens two instances, A and B, on one channel."""

    async def open_two() -> tuple[Instance, Instance]:
        a = Instance(postgres_url, "a", channel)
        b = Instance(postgres_url, "b", channel)
        await a.broadcast.open(a.received.append)
        await b.broadcast.open(b.received.append)
        return a, b

    return open_two


@asynccontextmanager
async def opened(
    open_two: Callable[[], Awaitable[tuple[Instance, Instance]]],
) -> AsyncIterator[tuple[Instance, Instance]]:
    a, b = await open_two()
    try:
        yield a, b
    finally:
        await a.broadcast.close()
        await b.broadcast.close()


async def backends(admin: Any, application_name: str) -> list[int]:
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
    )
    return [row["pid"] for row in rows]


async def test_a_change_reaches_the_other_instance_and_not_its_sender(
    instances: Callable[[], Awaitable[tuple[Instance, Instance]]],
) -> None:
    async with opened(instances) as (a, b):
        a.broadcast.send(change("from-a"))
        await eventually(lambda: b.got("from-a"), "B receives A's change")

        # A's own notification reached A's connection before B's reply does, so once A has
        # B's change it would also have had its own, had it not been dropped.
        b.broadcast.send(change("from-b", TaskStatus.SUCCESS))
        await eventually(lambda: a.got("from-b"), "A receives B's change")

    assert b.received == [change("from-a")]
    assert a.received == [change("from-b", TaskStatus.SUCCESS)]


async def test_messages_that_are_not_changes_are_ignored(
    instances: Callable[[], Awaitable[tuple[Instance, Instance]]], admin: Any, channel: str
) -> None:
    async with opened(instances) as (a, b):
        for payload in ("not json", "[1, 2]", '{"v": 1, "origin": "x"}', '{"v": 99}'):
            await admin.execute("SELECT pg_notify($1, $2)", channel, payload)
        a.broadcast.send(change("after-noise"))
        await eventually(lambda: b.got("after-noise"), "B receives A's change")

    assert b.received == [change("after-noise")]


async def test_a_listener_whose_session_is_terminated_listens_again(
    instances: Callable[[], Awaitable[tuple[Instance, Instance]]],
    admin: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=PostgresChangeBroadcast.__module__)
    async with opened(instances) as (a, b):
        a.broadcast.send(change("before"))
        await eventually(lambda: b.got("before"), "B receives A's change")

        (pid,) = await backends(admin, b.application_name)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

        # Notifications sent while B is not listening are lost, so A keeps sending until one
        # gets through on B's new connection.
        sent = 0
        while not any(item.task_id.startswith("after-") for item in b.received):
            assert sent < PATIENCE / 0.1, "B never listened again"
            a.broadcast.send(change(f"after-{sent}"))
            sent += 1
            await asyncio.sleep(0.1)
        new_backends = await backends(admin, b.application_name)

    assert new_backends and new_backends != [pid]
    assert len(caplog.records) == 1, "one warning per outage"
    assert "no connection to PostgreSQL" in caplog.records[0].getMessage()


async def test_close_sends_what_is_queued_and_leaves_nothing_running(
    instances: Callable[[], Awaitable[tuple[Instance, Instance]]], admin: Any
) -> None:
    async with opened(instances) as (a, b):
        a.broadcast.send(change("last-words", TaskStatus.INTERRUPTED))
        await a.broadcast.close()
        await eventually(lambda: b.got("last-words"), "B receives what A sent before closing")

        a.broadcast.send(change("after-close"))  # dropped, without an error
        workers = [task for task in asyncio.all_tasks() if task.get_name() == WORKER_NAME]
        assert len(workers) == 1, "only B's worker is still running"

    assert not [task for task in asyncio.all_tasks() if task.get_name() == WORKER_NAME]
    for instance in (a, b):
        deadline = time.monotonic() + PATIENCE
        while await backends(admin, instance.application_name):
            assert time.monotonic() < deadline, "a broadcast left its connection open"
            await asyncio.sleep(POLL)


async def test_an_unreachable_server_does_not_fail_open_and_close_stops_the_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=PostgresChangeBroadcast.__module__)
    # Port 1 on loopback refuses connections at once.
    broadcast = PostgresChangeBroadcast("postgresql://u@127.0.0.1:1/db", instance_id="a")

    await broadcast.open(lambda _change: None)
    broadcast.send(change("nowhere"))
    await broadcast.close()

    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert not [task for task in asyncio.all_tasks() if task.get_name() == WORKER_NAME]


@pytest.mark.parametrize("url", ["mysql://u@db/x", "sqlite:///tasks.db", "db.example.com"])
def test_a_url_of_another_database_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"postgresql://, postgres://"):
        PostgresChangeBroadcast(url, instance_id="a")
