"""``GET {path}/stream``: task changes pushed to the dashboard as Server-Sent Events.

Every client gets its own subscription to the service's event stream. Changes are coalesced
per task over a short window, so a task that logs a thousand lines a second still costs one
entry per window; each batch carries a compact record of every task that changed, read once.
A batch that would exceed the cap is replaced by a ``resync`` event: the page re-queries the
API instead, which costs the same whether ten thousand tasks changed or a million.

The protocol (each message is one SSE event; ``data`` is JSON):

- ``retry: <ms>`` first, then ``event: ready`` with the limits below;
- ``event: tasks`` with ``{"tasks": [compact record, ...]}``, at most one per window;
- ``event: resync`` with ``{"reason": "overflow"}`` when more tasks changed than one batch
  holds;
- a ``: keep-alive`` comment after ``heartbeat`` seconds without a message, so proxies keep
  the connection open.

A stream ends when the client goes away, when the application's lifespan shuts down, and when
the server running it (uvicorn) has been told to exit, so it never holds up a graceful
shutdown; the browser's ``EventSource`` then reconnects on its own once a server answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.ports.event_stream import TaskChange

_log = logging.getLogger("fastapi_taskflow")

#: The attribute of an app holding the shutdown signals of its open streams.
_OPEN_STREAMS = "_taskflow_open_streams"

_STREAM_HEADERS = {
    "Cache-Control": "no-store",
    # nginx buffers proxied responses unless told otherwise, which would hold events back.
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}


@attrs.frozen(kw_only=True)
class StreamLimits:
    """What one client may cost.

    Attributes:
        window: Seconds changes are gathered before a batch goes out.
        max_batch: Most tasks in one batch; more changed tasks turn the batch into a resync.
        heartbeat: Seconds of silence after which a keep-alive comment is sent.
        check_every: Seconds between checks for a server shutdown while nothing happens.
        retry_ms: How long the browser waits before reconnecting a dropped stream.
    """

    window: float = 0.25
    max_batch: int = 200
    heartbeat: float = 15.0
    check_every: float = 0.5
    retry_ms: int = 3000

    def __attrs_post_init__(self) -> None:
        if not self.window >= 0 or not self.heartbeat > 0 or not self.check_every > 0:
            raise ValueError("window must be >= 0, heartbeat and check_every > 0 seconds")
        if self.max_batch < 1:
            raise ValueError("max_batch must be >= 1")


def compact(record: TaskRecord) -> dict[str, Any]:
    """What the task table shows of a task: no arguments, logs or stack trace."""
    return {
        "task_id": record.task_id,
        "func_name": record.func_name,
        "status": record.status.value,
        "queue": record.queue,
        "source": record.source,
        "priority": record.priority,
        "executor": record.executor,
        "retries_used": record.retries_used,
        "tags": dict(record.tags),
        "created_at": _iso(record.created_at),
        "start_time": _iso(record.start_time),
        "end_time": _iso(record.end_time),
        "duration": record.duration,
        "retried_from": record.retried_from,
        "retried_as": record.retried_as,
        "provenance": None if record.provenance is None else record.provenance.to_dict(),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def sse(event: str, data: Any) -> str:
    """One event in the text/event-stream format (JSON never contains a raw newline)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def server_exit_requested() -> Callable[[], bool]:
    """Whether the server has been asked to stop, as far as it can be told from the app.

    uvicorn waits for open responses to finish before it runs the lifespan shutdown, so an
    endless stream would hold its graceful shutdown up for ever. Its signal handler is a method
    of the server, whose ``should_exit`` flag turns true on SIGTERM or SIGINT; reading that flag
    is all this does. Other servers give no such hint; for them the lifespan shutdown or the
    client going away ends the stream.
    """
    owner = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if owner is None or not isinstance(getattr(owner, "should_exit", None), bool):
        return lambda: False
    return lambda: bool(owner.should_exit)


class LiveStream:
    """The events of one client, from subscribing to the end of the connection."""

    def __init__(
        self,
        service: TaskService,
        limits: StreamLimits,
        *,
        closing: asyncio.Event,
        server_stopping: Callable[[], bool],
    ) -> None:
        self._service = service
        self._limits = limits
        self._closing = closing
        self._server_stopping = server_stopping
        self._pending: dict[str, TaskChange] = {}
        self._overflow = False
        self._wake = asyncio.Event()

    def _note(self, change: TaskChange) -> None:
        if self._overflow:
            return  # a resync is due anyway; what changed no longer matters
        # Re-inserting keeps the most recently changed tasks last.
        self._pending.pop(change.task_id, None)
        self._pending[change.task_id] = change
        if len(self._pending) > self._limits.max_batch:
            self._pending.clear()
            self._overflow = True
        self._wake.set()

    async def _pump(self, changes: AsyncIterator[TaskChange]) -> None:
        async for change in changes:
            self._note(change)

    def _should_stop(self, pump: asyncio.Task[None]) -> bool:
        return self._closing.is_set() or self._server_stopping() or pump.done()

    async def events(self) -> AsyncGenerator[str, None]:
        """The text of the response, message by message."""
        limits = self._limits
        changes = self._service.events.subscribe()
        pump = asyncio.get_running_loop().create_task(
            self._pump(changes), name="taskflow-live-stream"
        )
        try:
            yield f"retry: {limits.retry_ms}\n" + sse(
                "ready",
                {
                    "window_ms": round(limits.window * 1000),
                    "max_batch": limits.max_batch,
                    "heartbeat_s": limits.heartbeat,
                },
            )
            last_sent = time.monotonic()
            while not self._should_stop(pump):
                quiet = time.monotonic() - last_sent
                timeout = max(0.0, min(limits.check_every, limits.heartbeat - quiet))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                if self._should_stop(pump):
                    break
                if self._wake.is_set():
                    # Let the changes of the next moments join this batch.
                    await asyncio.sleep(limits.window)
                    message = await self._next_batch()
                    if message is None:
                        continue
                elif time.monotonic() - last_sent >= limits.heartbeat:
                    message = ": keep-alive\n\n"
                else:
                    continue
                yield message
                last_sent = time.monotonic()
        finally:
            # Starlette cancels the response's scope on disconnect, and keeps cancelling every
            # await inside it; the subscription must be released all the same.
            with anyio.CancelScope(shield=True):
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
                close = getattr(changes, "aclose", None)
                if close is not None:
                    await close()

    async def _next_batch(self) -> str | None:
        self._wake.clear()
        if self._overflow:
            self._overflow = False
            return sse("resync", {"reason": "overflow"})
        batch = list(self._pending.values())
        self._pending.clear()
        if not batch:
            return None
        return sse("tasks", {"tasks": [await self._describe(change) for change in batch]})

    async def _describe(self, change: TaskChange) -> dict[str, Any]:
        try:
            record = await self._service.queries.get(change.task_id)
        except Exception:
            # Storage may be briefly unreachable; what the change says is still worth sending.
            _log.debug("live stream could not read task %s", change.task_id, exc_info=True)
            record = None
        if record is None:
            return {
                "task_id": change.task_id,
                "func_name": change.func_name,
                "status": change.status.value,
            }
        return compact(record)


class EventStreamResponse(StreamingResponse):
    """A streaming response that always closes its generator, whichever way it ends.

    Starlette stops iterating when the client disconnects but leaves the generator suspended;
    closing it here releases the subscription at once instead of at garbage collection.
    """

    media_type = "text/event-stream"

    def __init__(self, content: AsyncGenerator[str, None], headers: dict[str, str]) -> None:
        super().__init__(content, headers=headers)
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._content.aclose()


def _open_streams(app: FastAPI) -> set[asyncio.Event]:
    """The closing signals of the app's open streams; the first call hooks the lifespan."""
    streams: set[asyncio.Event] | None = app.__dict__.get(_OPEN_STREAMS)
    if streams is not None:
        return streams
    streams = set()
    app.__dict__[_OPEN_STREAMS] = streams
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        async with inner(running) as state:
            try:
                yield state
            finally:
                # Streams end before the manager shuts down, so none reads a closing store.
                for closing in list(streams):
                    closing.set()

    app.router.lifespan_context = lifespan
    return streams


def mount_live_stream(
    app: FastAPI, manager: TaskManager, *, path: str, limits: StreamLimits | None = None
) -> None:
    """Serve ``GET {path}/stream``. Mount it before the admin router's ``{path}/{task_id}``."""
    streams = _open_streams(app)
    chosen = limits or StreamLimits()

    @app.get(f"{path}/stream", include_in_schema=False, response_class=EventStreamResponse)
    async def stream() -> EventStreamResponse:
        service = manager.service
        await service.ready()
        closing = asyncio.Event()
        live = LiveStream(
            service, chosen, closing=closing, server_stopping=server_exit_requested()
        )

        async def events() -> AsyncGenerator[str, None]:
            streams.add(closing)
            try:
                async with contextlib.aclosing(live.events()) as messages:
                    async for message in messages:
                        yield message
            finally:
                streams.discard(closing)

        return EventStreamResponse(events(), headers=_STREAM_HEADERS)
