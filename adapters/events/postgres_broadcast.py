"""Task changes shared between instances through PostgreSQL's LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import Any

from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.event_stream import TaskChange

logger = logging.getLogger(__name__)

#: URL schemes accepted for the database; asyncpg itself only reads ``postgresql://``.
ACCEPTED_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg")

#: Largest message sent. PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; a change
#: is a few hundred bytes unless a task id or function name is absurdly long.
MAX_PAYLOAD_BYTES = 4000

#: Version of the message format, so instances running an older release ignore newer ones.
MESSAGE_VERSION = 1

#: Changes waiting to be sent while the connection is down; past this the oldest are dropped.
MAX_PENDING = 10_000

#: Changes sent in one statement.
SEND_BATCH = 500

#: Seconds allowed for connecting, for one statement, and for closing.
CONNECT_TIMEOUT = 10.0
STATEMENT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0

#: Seconds between checks that an idle connection still works. A connection the server
#: closes is noticed at once; this catches one that a network device dropped silently.
PROBE_INTERVAL = 15.0

#: Pauses between failed attempts to connect again: doubling from the first to the last.
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 30.0

#: Name of the background task, to tell it apart in task dumps.
WORKER_NAME = "taskflow-postgres-broadcast"

_NOTIFY = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"


def asyncpg_dsn(url: str) -> str:
    """The ``postgresql://`` DSN asyncpg reads, from a storage URL that may name a driver.

    Raises:
        ValueError: ``url`` is not a PostgreSQL URL.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in ACCEPTED_SCHEMES:
        accepted = ", ".join(f"{name}://" for name in ACCEPTED_SCHEMES)
        raise ValueError(f"a PostgreSQL change broadcast needs a URL starting with {accepted}")
    return f"postgresql://{rest}"


def encode_change(change: TaskChange, origin: str) -> str:
    """The NOTIFY payload for ``change`` sent by instance ``origin``."""
    message = {
        "v": MESSAGE_VERSION,
        "origin": origin,
        "task_id": change.task_id,
        "func_name": change.func_name,
        "status": change.status.value,
    }
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def decode_change(payload: str) -> tuple[str, TaskChange] | None:
    """The origin and change in a payload, or ``None`` if it is not a message of ours."""
    try:
        message = json.loads(payload)
        if not isinstance(message, dict) or message.get("v") != MESSAGE_VERSION:
            return None
        origin, task_id, func_name = message["origin"], message["task_id"], message["func_name"]
        if not all(isinstance(value, str) for value in (origin, task_id, func_name)):
            return None
        change = TaskChange(
            task_id=task_id, func_name=func_name, status=TaskStatus(message["status"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    return origin, change


class PostgresChangeBroadcast:
    """A :class:`~fastapi_taskflow.ports.change_broadcast.ChangeBroadcast` over PostgreSQL
    LISTEN/NOTIFY, for instances sharing a PostgreSQL store.

    Each instance holds one dedicated connection (outside the store's pool, since a listening
    connection cannot be shared) that LISTENs on ``channel`` and also carries this instance's
    NOTIFYs, sent by a background task so :meth:`send` never waits. Each message is a small
    JSON object naming its origin, so an instance ignores its own changes.

    When the connection drops, the broadcast connects again (with growing pauses while the
    server stays away, logging one warning per outage) and LISTENs again. Changes sent in the
    meantime wait in a bounded queue; notifications other instances sent while this one was
    not listening are lost, which live views tolerate since they re-read the store.

    Args:
        url: The PostgreSQL URL of the store (``postgresql://``, ``postgres://``,
            ``postgresql+asyncpg://`` or ``postgresql+psycopg://``).
        instance_id: This instance's id, carried by every change it sends.
        channel: The notification channel; instances sharing a store must use the same one.
    """

    def __init__(self, url: str, *, instance_id: str, channel: str = "taskflow_changes") -> None:
        if not channel:
            raise ValueError("the notification channel needs a name")
        self._dsn = asyncpg_dsn(url)
        self._instance_id = instance_id
        self._channel = channel
        self._pending: deque[TaskChange] = deque(maxlen=MAX_PENDING)
        self._deliver: Callable[[TaskChange], None] | None = None
        self._connection: Any = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Made again by open(): events belong to the loop that first waits on them.
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._closing = False
        self._outage_reported = False

    async def open(self, deliver: Callable[[TaskChange], None]) -> None:
        """Connect, LISTEN, and start sending; ``deliver`` gets other instances' changes.

        If the server cannot be reached now, this logs a warning and returns; the broadcast
        keeps trying in the background, as it does after losing the connection.

        Raises:
            ImportError: asyncpg is not installed.
        """
        if self._worker is not None:
            return
        _asyncpg()
        self._deliver = deliver
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._closing = False
        try:
            await self._connect()
        except Exception as error:  # any failure to connect is retried in the background
            self._report_outage(error)
        if self._pending:
            self._wake.set()  # changes sent before open()
        self._worker = asyncio.create_task(self._run(), name=WORKER_NAME)

    def send(self, change: TaskChange) -> None:
        """Queue ``change`` for the other instances; never waits and never raises.

        May be called from another thread. Changes sent after :meth:`close` are dropped.
        """
        if self._closing:
            return
        self._pending.append(change)
        loop = self._loop
        if loop is None:
            return  # sent once open() starts the worker
        try:
            if _running_loop() is loop:
                self._wake.set()
            else:
                loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:
            pass  # the loop has closed: nothing will be sent any more

    async def close(self) -> None:
        """Send what is queued (if connected), stop listening and close the connection."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        self._closing = True
        self._stop.set()
        self._wake.set()
        done, _ = await asyncio.wait({worker}, timeout=CLOSE_TIMEOUT)
        if not done:
            worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close_connection(connection)
        self._deliver = None
        self._loop = None
        self._pending.clear()

    # -- the background worker -----------------------------------------------------------

    async def _run(self) -> None:
        """Keep a listening connection and send queued changes on it, until closed."""
        delay = FIRST_RETRY_DELAY
        while not self._closing:
            connection = self._connection
            if connection is None or connection.is_closed():
                if connection is not None:
                    self._connection = None
                    self._report_outage("the connection was closed")
                try:
                    await self._connect()
                except Exception as error:  # keep retrying whatever went wrong
                    self._report_outage(error)
                    if await _wait(self._stop, delay):
                        break
                    delay = min(delay * 2, MAX_RETRY_DELAY)
                    continue
                delay = FIRST_RETRY_DELAY
            woken = await _wait(self._wake, PROBE_INTERVAL)
            # Cleared before sending: a change queued meanwhile wakes the next round.
            self._wake.clear()
            if self._pending:
                await self._flush(self._connection)
            elif not woken:
                await self._probe(self._connection)
        if self._pending and self._connection is not None and not self._connection.is_closed():
            await self._flush(self._connection)

    async def _connect(self) -> None:
        connection = await _asyncpg().connect(self._dsn, timeout=CONNECT_TIMEOUT)
        try:
            connection.add_termination_listener(self._on_connection_lost)
            await connection.add_listener(self._channel, self._on_notification)
        except BaseException:
            connection.terminate()
            raise
        self._connection = connection
        if self._outage_reported:
            self._outage_reported = False
            logger.info("task change broadcast: listening on PostgreSQL again")

    async def _flush(self, connection: Any) -> None:
        """Send queued changes, a batch per statement, while the connection works."""
        while self._pending and not connection.is_closed():
            count = min(len(self._pending), SEND_BATCH)
            batch = [self._pending.popleft() for _ in range(count)]
            payloads = [payload for change in batch if (payload := self._payload(change))]
            if not payloads:
                continue
            try:
                await connection.execute(
                    _NOTIFY, self._channel, payloads, timeout=STATEMENT_TIMEOUT
                )
            except Exception as error:  # delivery is best effort: the batch is dropped
                if isinstance(error, _asyncpg().PostgresError):
                    logger.warning("task change broadcast: %d changes not sent: %s", count, error)
                else:
                    # A lost or stuck connection: replaced by the worker, which reports it.
                    logger.debug("task change broadcast: %d changes not sent: %r", count, error)
                    connection.terminate()
                return

    def _payload(self, change: TaskChange) -> str | None:
        payload = encode_change(change, self._instance_id)
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            logger.warning(
                "task change broadcast: change of task %.80r not sent, its message is over "
                "%d bytes",
                change.task_id,
                MAX_PAYLOAD_BYTES,
            )
            return None
        return payload

    async def _probe(self, connection: Any) -> None:
        """Check an idle connection; one that does not answer is dropped and replaced."""
        try:
            await connection.fetchval("SELECT 1", timeout=STATEMENT_TIMEOUT)
        except Exception:  # whatever the failure, the connection is replaced
            connection.terminate()

    # -- callbacks from the connection ---------------------------------------------------

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        deliver = self._deliver
        if deliver is None or self._closing:
            return
        decoded = decode_change(payload)
        if decoded is None:
            logger.debug("task change broadcast: ignored a message that is not ours")
            return
        origin, change = decoded
        if origin == self._instance_id:
            return
        try:
            deliver(change)
        except Exception:  # one failing receiver must not stop the others' messages
            logger.exception("task change broadcast: delivering a change failed")

    def _on_connection_lost(self, _connection: Any) -> None:
        # Wakes the worker, which finds the connection closed and connects again.
        self._wake.set()

    def _report_outage(self, reason: object) -> None:
        if self._outage_reported or self._closing:
            return
        self._outage_reported = True
        logger.warning(
            "task change broadcast: no connection to PostgreSQL (%s); changes are not shared "
            "with other instances until it is back",
            reason,
        )


def _asyncpg() -> ModuleType:
    try:
        return importlib.import_module("asyncpg")
    except ImportError as error:
        raise ImportError(
            "the PostgreSQL change broadcast needs the asyncpg driver: "
            'pip install "fastapi-taskflow[postgres]"',
            name="asyncpg",
        ) from error


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """Whether ``event`` was set within ``timeout`` seconds."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def _close_connection(connection: Any) -> None:
    try:
        await connection.close(timeout=CLOSE_TIMEOUT)
    except Exception:  # a connection that cannot close politely is cut
        connection.terminate()
