"""``GET {path}/stream``: task changes as Server-Sent Events, bounded per client."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp, Message

from fastapi_taskflow import TaskAdmin, TaskManager, TaskStatus, task_log
from fastapi_taskflow.entrypoints.fastapi.live_stream import (
    StreamLimits,
    mount_live_stream,
    server_exit_requested,
)
from fastapi_taskflow.ports.event_stream import TaskChange

from .conftest import PATIENCE
from .uvicorn_server import Server

pytestmark = pytest.mark.integration


class StreamClient:
    """Drives one ``GET`` of the stream at the ASGI level and reads its events as they come.

    (httpx's ASGI transport waits for a response to end before returning it, which an endless
    stream never does.)
    """

    def __init__(self, app: ASGIApp, path: str = "/tasks/stream") -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.ended = asyncio.Event()
        self._buffer = ""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000),
            "server": ("test", 80),
        }
        self.task = asyncio.get_running_loop().create_task(app(scope, self._receive, self._send))

    async def _receive(self) -> Message:
        return await self.inbox.get()

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.chunks.put_nowait(message.get("body", b""))
            if not message.get("more_body", False):
                self.ended.set()

    async def next_message(self, timeout: float = PATIENCE) -> str:
        """The next message's text (an event or a comment), without its closing blank line."""
        while "\n\n" not in self._buffer:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout)
            if not chunk and self.ended.is_set():
                raise EOFError("the stream ended")
            self._buffer += chunk.decode()
        message, self._buffer = self._buffer.split("\n\n", 1)
        return message

    async def next_event(self, timeout: float = PATIENCE) -> tuple[str, Any]:
        """The next event's name and data, skipping comments and the retry field."""
        while True:
            fields: dict[str, str] = {}
            for line in (await self.next_message(timeout)).split("\n"):
                name, _, value = line.partition(": ")
                if name:
                    fields[name] = value
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])

    async def tasks_until(
        self, condition: Any, timeout: float = PATIENCE
    ) -> list[list[dict[str, Any]]]:
        """``tasks`` batches received until one satisfies ``condition``."""
        batches: list[list[dict[str, Any]]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            name, data = await self.next_event(max(0.01, deadline - loop.time()))
            if name == "tasks":
                batches.append(data["tasks"])
                if condition(data["tasks"]):
                    return batches

    async def disconnect(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(self.task, PATIENCE)


@attrs.define
class Running:
    app: ASGIApp
    tm: TaskManager
    chatty: Any


@asynccontextmanager
async def running(limits: StreamLimits | None = None) -> AsyncIterator[Running]:
    """An app serving only the stream (with ``limits``), started and shut down around the
    block."""
    tm = TaskManager()
    app = FastAPI()
    tm.init_app(app)
    mount_live_stream(app, tm, path="/tasks", limits=limits)

    @tm.task()
    def chatty(lines: int) -> None:
        for number in range(lines):
            task_log(f"line {number}")

    async with LifespanManager(app, startup_timeout=PATIENCE, shutdown_timeout=PATIENCE) as life:
        yield Running(life.app, tm, chatty)


async def opened(app: ASGIApp) -> StreamClient:
    client = StreamClient(app)
    name, data = await client.next_event()
    assert name == "ready", (name, data)
    return client


async def test_a_new_task_arrives_as_compact_records_until_it_finishes() -> None:
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm, display_func_args=True)

    @tm.task()
    def send_email(address: str) -> None:
        task_log(f"sent to {address}")

    async with LifespanManager(app, startup_timeout=PATIENCE, shutdown_timeout=PATIENCE) as life:
        client = await opened(life.app)
        assert client.status == 200
        assert client.headers["content-type"].startswith("text/event-stream")
        assert client.headers["cache-control"] == "no-store"
        task_id = tm.add_task(send_email, "ada@example.com", tags={"team": "growth"})

        batches = await client.tasks_until(
            lambda tasks: any(t["task_id"] == task_id and t["status"] == "success" for t in tasks)
        )
        await client.disconnect()

    last = next(t for t in batches[-1] if t["task_id"] == task_id)
    assert last["func_name"] == "send_email"
    assert last["tags"] == {"team": "growth"}
    assert last["queue"] == "default"
    assert last["source"] == "manual"
    assert last["duration"] is not None
    assert last["created_at"] is not None
    # Compact: arguments, logs and stack traces stay behind GET {path}/{task_id}.
    assert not {"args", "kwargs", "logs", "stacktrace"} & set(last)


async def test_the_first_message_tells_the_browser_when_to_reconnect() -> None:
    async with running(StreamLimits(retry_ms=1234)) as live:
        client = StreamClient(live.app)
        first = await client.next_message()
        await client.disconnect()

    assert first.startswith("retry: 1234\nevent: ready\n")


async def test_a_burst_of_changes_is_coalesced_into_one_batch_per_task() -> None:
    async with running(StreamLimits(window=0.3)) as live:
        client = await opened(live.app)
        ids = [f"burst-{number}" for number in range(10)]
        # 1000 changes of 10 tasks, published at once: one batch, one entry per task.
        for _ in range(100):
            for task_id in ids:
                live.tm.service.events.publish(
                    TaskChange(task_id=task_id, func_name="fn", status=TaskStatus.RUNNING)
                )
        name, data = await client.next_event()
        await client.disconnect()

    assert name == "tasks"
    assert sorted(t["task_id"] for t in data["tasks"]) == sorted(ids)


async def test_a_task_writing_many_log_lines_costs_a_few_messages() -> None:
    async with running() as live:
        client = await opened(live.app)
        task_id = live.tm.add_task(live.chatty, 500)
        batches = await client.tasks_until(
            lambda tasks: any(t["task_id"] == task_id and t["status"] == "success" for t in tasks)
        )
        await client.disconnect()
        record = await live.tm.get_task(task_id)

    assert record is not None
    assert len(record.logs) >= 500
    # Each batch waits a window (250 ms) for more changes; 500 log lines written within a
    # few milliseconds fit in a handful of batches, not 500 messages.
    assert len(batches) <= 5, [len(batch) for batch in batches]
    assert all(len(batch) == 1 for batch in batches)


async def test_more_changed_tasks_than_a_batch_holds_become_a_resync() -> None:
    async with running(StreamLimits(max_batch=5)) as live:
        client = await opened(live.app)
        for number in range(20):
            live.tm.service.events.publish(
                TaskChange(task_id=f"many-{number}", func_name="fn", status=TaskStatus.PENDING)
            )
        name, data = await client.next_event()
        # After the resync, small batches flow again.
        live.tm.service.events.publish(
            TaskChange(task_id="after", func_name="fn", status=TaskStatus.PENDING)
        )
        after = await client.next_event()
        await client.disconnect()

    assert (name, data) == ("resync", {"reason": "overflow"})
    assert after == (
        "tasks",
        {"tasks": [{"task_id": "after", "func_name": "fn", "status": "pending"}]},
    )


async def test_a_quiet_stream_sends_keep_alive_comments() -> None:
    async with running(StreamLimits(heartbeat=0.2, check_every=0.05)) as live:
        client = await opened(live.app)
        comments = [await client.next_message(), await client.next_message()]
        await client.disconnect()

    assert comments == [": keep-alive", ": keep-alive"]


async def test_a_disconnect_ends_the_response_and_releases_the_subscription() -> None:
    async with running() as live:
        events: Any = live.tm.service.events
        before = events.subscriber_count
        client = await opened(live.app)
        assert events.subscriber_count == before + 1

        await client.disconnect()

        assert client.task.done()
        assert events.subscriber_count == before


async def test_shutting_the_app_down_ends_open_streams() -> None:
    async with running() as live:
        client = await opened(live.app)
        events: Any = live.tm.service.events
    # Leaving the block ran the lifespan shutdown, which waited for nothing: the stream ended.
    await asyncio.wait_for(client.ended.wait(), PATIENCE)
    await asyncio.wait_for(client.task, PATIENCE)
    assert events.subscriber_count == 0


async def test_the_stream_ends_once_the_server_is_asked_to_exit() -> None:
    class FakeServer:
        should_exit = False

        def handle_exit(self, sig: int, frame: object) -> None:
            self.should_exit = True

    server = FakeServer()
    previous = signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        async with running(StreamLimits(check_every=0.05)) as live:
            client = await opened(live.app)
            assert not client.ended.is_set()
            server.should_exit = True
            await asyncio.wait_for(client.ended.wait(), PATIENCE)
            await asyncio.wait_for(client.task, PATIENCE)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_without_a_known_server_no_exit_is_reported() -> None:
    assert server_exit_requested()() is False


async def test_the_stream_is_not_taken_for_a_task_and_stays_out_of_the_schema() -> None:
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm)
    async with LifespanManager(app) as life:
        client = await opened(life.app)
        await client.disconnect()
        transport = httpx.ASGITransport(app=life.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            schema = (await http.get("/openapi.json")).json()

    assert client.status == 200
    assert "/tasks/stream" not in schema["paths"]


@pytest.fixture
def uvicorn_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(f"sqlite:///{tmp_path / 'tasks.db'}", tmp_path / "uvicorn.log")
    try:
        server.wait_until_answering()
        yield server
    finally:
        server.kill()


async def read_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"])
            fields = {}
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
async def test_under_uvicorn_events_stream_and_sigterm_is_not_held_up(
    uvicorn_server: Server,
) -> None:
    async with (
        httpx.AsyncClient(base_url=uvicorn_server.base_url, timeout=PATIENCE) as client,
        client.stream("GET", "/tasks/stream") as response,
    ):
        assert response.status_code == 200
        events = read_events(response)
        assert (await anext(events))[0] == "ready"
        created = await client.post("/signup", params={"email": "ada@example.com"})
        task_id = created.json()["task_id"]
        async for name, data in events:
            if name == "tasks" and any(
                t["task_id"] == task_id and t["status"] == "success" for t in data["tasks"]
            ):
                break

        # The stream is still open: uvicorn must end it rather than wait for it.
        exit_code = uvicorn_server.terminate()

    assert exit_code in (0, -signal.SIGTERM), uvicorn_server.output()
    assert "Application shutdown complete." in uvicorn_server.output()


async def test_with_authentication_the_stream_refuses_a_client_without_a_session() -> None:
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm, auth=("ada", "correct horse"), secret_key="test-only-key" * 4)
    async with LifespanManager(app) as life:
        events: Any = tm.service.events
        transport = httpx.ASGITransport(app=life.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/tasks/stream", headers={"Accept": "text/event-stream"})
        subscribers = events.subscriber_count

    assert response.status_code == 401
    assert subscribers == 0
