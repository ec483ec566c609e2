"""Task changes shared between instances through Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from fastapi_taskflow.adapters.storage.redis_client import connect
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

logger = logging.getLogger(__name__)

#: Changes waiting to be published; beyond this, the oldest are dropped.
MAX_PENDING = 1000

#: Seconds the listener waits for a message before it looks at its connection again.
_POLL = 1.0

#: Bounds of the wait between attempts to reach a server that is down.
_FIRST_PAUSE = 0.1
_LONGEST_PAUSE = 5.0

#: Seconds ``close`` waits for changes still queued to go out.
_DRAIN = 1.0

_CONNECTION_ERRORS = (RedisError, OSError)


class RedisChangeBroadcast:
    """A :class:`~fastapi_taskflow.ports.change_broadcast.ChangeBroadcast` over Redis pub/sub.

    Every instance publishes its changes to the channel ``{prefix}:changes`` as JSON
    (``origin``, ``task_id``, ``func_name``, ``status``) and listens to the same channel,
    ignoring the messages it sent itself. :meth:`send` only queues the change; a background
    task publishes it. The listener reconnects and subscribes again when its connection
    drops. Delivery is best effort: changes published while an instance is disconnected
    are not seen by it (its live views re-read the store).

    Args:
        url: ``redis://``, ``rediss://`` or ``unix://`` URL of the server.
        instance_id: This instance; messages it sent are not delivered back to it.
        prefix: Key prefix of the store, which also names the channel.
        client_kwargs: Options for :class:`redis.asyncio.Redis` (timeouts, ``client_name``,
            TLS settings, ...), applied over the defaults.
    """

    def __init__(
        self,
        url: str,
        *,
        instance_id: str,
        prefix: str = "taskflow",
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url
        self._instance_id = instance_id
        self.channel = f"{prefix}:changes"
        self._client_kwargs = {**(client_kwargs or {}), "decode_responses": False}
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._outbox: asyncio.Queue[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._dropped = 0

    async def open(self, deliver: Callable[[TaskChange], None]) -> None:
        """Subscribe, and start publishing and listening in the background.

        A server that cannot be reached does not fail the call: the listener keeps trying.
        """
        if self._client is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._client = connect(self._url, self._client_kwargs)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await self._pubsub.subscribe(self.channel)
        except _CONNECTION_ERRORS as error:
            logger.warning("cannot subscribe to %s yet, will keep trying: %s", self.channel, error)
        self._outbox = asyncio.Queue(maxsize=MAX_PENDING)
        self._listener = asyncio.create_task(self._listen(self._pubsub, deliver))
        self._publisher = asyncio.create_task(self._publish(self._client, self._outbox))

    def send(self, change: TaskChange) -> None:
        """Queue ``change`` for publishing; never waits and never raises."""
        try:
            loop = self._loop
            if self._outbox is None or loop is None or loop.is_closed():
                return
            message = json.dumps(
                {
                    "origin": self._instance_id,
                    "task_id": change.task_id,
                    "func_name": change.func_name,
                    "status": change.status.value,
                }
            ).encode()
            if _running_loop() is loop:
                self._enqueue(message)
            else:
                loop.call_soon_threadsafe(self._enqueue, message)
        except Exception:
            logger.exception("could not queue a task change for other instances")

    async def close(self) -> None:
        """Send what is still queued (briefly), stop listening and close the connections."""
        client, pubsub, outbox = self._client, self._pubsub, self._outbox
        self._client = self._pubsub = self._outbox = None
        if client is None:
            return
        if outbox is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(outbox.join(), timeout=_DRAIN)
        for task in (self._listener, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._listener = self._publisher = None
        if pubsub is not None:
            # Typed only in newer redis-py releases; a call through Any suits every version.
            closing: Any = pubsub.aclose
            await closing()
        await client.aclose()

    def _enqueue(self, message: bytes) -> None:
        outbox = self._outbox
        if outbox is None:
            return
        if outbox.full():
            # Live views only need recent changes; the oldest is the least useful one.
            outbox.get_nowait()
            outbox.task_done()
            self._dropped += 1
            if self._dropped == 1 or self._dropped % MAX_PENDING == 0:
                logger.warning("%d task changes dropped: Redis is not keeping up", self._dropped)
        outbox.put_nowait(message)

    async def _publish(self, client: Redis, outbox: asyncio.Queue[bytes]) -> None:
        failing = False
        while True:
            message = await outbox.get()
            try:
                await client.publish(self.channel, message)
                failing = False
            except _CONNECTION_ERRORS as error:
                if not failing:
                    logger.warning("cannot publish task changes (dropping them): %s", error)
                failing = True
            finally:
                outbox.task_done()

    async def _listen(self, pubsub: PubSub, deliver: Callable[[TaskChange], None]) -> None:
        pause = _FIRST_PAUSE
        while True:
            try:
                if not pubsub.subscribed:
                    await pubsub.subscribe(self.channel)
                # The client reconnects a dropped connection on the next read and subscribes
                # it again; reads that still fail (server down) are retried here, later.
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL)
            except Exception as error:
                # Whatever went wrong, the listener must outlive it: live views depend on it.
                logger.warning("lost the task change channel, reconnecting: %s", error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
                continue
            pause = _FIRST_PAUSE
            if message is not None and message.get("type") == "message":
                self._deliver(message["data"], deliver)

    def _deliver(self, data: bytes, deliver: Callable[[TaskChange], None]) -> None:
        try:
            fields = json.loads(data)
            if fields["origin"] == self._instance_id:
                return
            change = TaskChange(
                task_id=str(fields["task_id"]),
                func_name=str(fields["func_name"]),
                status=TaskStatus(fields["status"]),
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed message on %s: %r", self.channel, data[:200])
            return
        try:
            deliver(change)
        except Exception:
            logger.exception("delivering a task change from another instance failed")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
