"""Task changes between two instances through Redis pub/sub, on a real server."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from fastapi_taskflow.adapters.events.redis_broadcast import RedisChangeBroadcast
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

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

    def __init__(self, url: str, name: str, prefix: str) -> None:
        # The connection name tells this instance's connections apart in CLIENT LIST.
        self.client_name = f"{name}-{uuid.uuid4().hex[:8]}"
        self.broadcast = RedisChangeBroadcast(
            url,
            instance_id=name,
            prefix=prefix,
            client_kwargs={"client_name": self.client_name},
        )
        self.received: list[TaskChange] = []

    def got(self, task_id: str) -> bool:
        return any(item.task_id == task_id for item in self.received)


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client of the server, outside any broadcast."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def pair(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Instance, Instance]]:
    """Two open instances, ``a`` and ``b``, sharing one prefix; closed at the end."""
    a = Instance(redis_url, "a", redis_prefix)
    b = Instance(redis_url, "b", redis_prefix)
    await a.broadcast.open(a.received.append)
    await b.broadcast.open(b.received.append)
    try:
        yield a, b
    finally:
        await a.broadcast.close()
        await b.broadcast.close()


async def test_a_change_reaches_the_other_instance_and_not_its_sender(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair

    a.broadcast.send(change("from-a", TaskStatus.SUCCESS))
    await eventually(lambda: b.got("from-a"), "b received a's change")
    # Messages of one channel arrive in publishing order: once a has b's later change, it
    # has also seen (and dropped) its own.
    b.broadcast.send(change("from-b"))
    await eventually(lambda: a.got("from-b"), "a received b's change")

    assert b.received == [change("from-a", TaskStatus.SUCCESS)]
    assert a.received == [change("from-b")]


async def test_the_prefix_keeps_stores_apart(
    pair: tuple[Instance, Instance], redis_url: str
) -> None:
    a, b = pair
    stranger = Instance(redis_url, "stranger", f"other-{uuid.uuid4().hex[:8]}")
    await stranger.broadcast.open(stranger.received.append)
    try:
        stranger.broadcast.send(change("elsewhere"))
        a.broadcast.send(change("here"))
        await eventually(lambda: b.got("here"), "b received a's change")
    finally:
        await stranger.broadcast.close()

    assert not b.got("elsewhere")


async def test_malformed_messages_are_ignored(
    pair: tuple[Instance, Instance], admin: aioredis.Redis
) -> None:
    a, b = pair

    await admin.publish(b.broadcast.channel, b"not json")
    await admin.publish(b.broadcast.channel, b'{"origin": "x", "status": "no-such-status"}')
    a.broadcast.send(change("valid"))
    await eventually(lambda: b.got("valid"), "b received the valid change")

    assert b.received == [change("valid")]


async def test_the_subscription_comes_back_after_its_connection_is_killed(
    pair: tuple[Instance, Instance], admin: aioredis.Redis
) -> None:
    a, b = pair
    killed = 0
    for client in await admin.client_list(_type="pubsub"):
        if client.get("name") == b.client_name:
            killed += int(await admin.client_kill_filter(_id=client["id"]))
    assert killed == 1

    # Changes published before b subscribed again are lost (best effort), so a keeps sending.
    sent = itertools.count()
    deadline = time.monotonic() + PATIENCE
    while not b.received:
        assert time.monotonic() < deadline, "b never subscribed again"
        a.broadcast.send(change(f"retry-{next(sent)}"))
        await asyncio.sleep(0.05)


async def test_sending_never_raises_when_closed_or_not_open(redis_url: str) -> None:
    broadcast = RedisChangeBroadcast(redis_url, instance_id="lonely")
    broadcast.send(change("before-open"))

    await broadcast.open(lambda _change: None)
    await broadcast.close()
    broadcast.send(change("after-close"))
    await broadcast.close()


async def test_a_failing_receiver_does_not_stop_the_listener(
    redis_url: str, redis_prefix: str
) -> None:
    sender = Instance(redis_url, "sender", redis_prefix)
    receiver = Instance(redis_url, "receiver", redis_prefix)

    def deliver(item: TaskChange) -> None:
        receiver.received.append(item)
        if item.task_id == "first":
            raise RuntimeError("a live view broke")

    await sender.broadcast.open(sender.received.append)
    await receiver.broadcast.open(deliver)
    try:
        sender.broadcast.send(change("first"))
        sender.broadcast.send(change("second"))
        await eventually(lambda: receiver.got("second"), "the receiver got the second change")
    finally:
        await sender.broadcast.close()
        await receiver.broadcast.close()

    assert [item.task_id for item in receiver.received] == ["first", "second"]
