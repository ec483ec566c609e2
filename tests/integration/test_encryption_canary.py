"""Encrypted arguments leave no trace: a canary passed to every kind of task appears in no
stored byte, row, key, log line or API response, on every storage adapter, while every task
still receives it."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import BackgroundTasks, FastAPI
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from fastapi_taskflow import TaskAdmin, TaskManager, task_log
from fastapi_taskflow.adapters.observers import StdoutLogger
from fastapi_taskflow.entrypoints.fastapi.live_stream import compact

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration

STORES = ["memory", "sqlite", "postgresql", "mysql", "redis"]


@pytest.fixture(scope="module")
def worker_tasks() -> Iterator[ModuleType]:
    """Task functions importable by name here and in worker processes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("taskflow_integration_tasks")


class Store:
    """A store under test: its URL and a way to read everything it holds."""

    def __init__(self, kind: str, url: str, *, sqlite_dir: Path | None = None) -> None:
        self.kind = kind
        self.url = url
        self.sqlite_dir = sqlite_dir

    def dump(self) -> list[str]:
        """Everything the store holds, as text: one string per file, row or Redis entry."""
        if self.kind == "memory":
            return []
        if self.kind == "sqlite":
            return self._sqlite_dump()
        if self.kind == "redis":
            return _redis_dump(self.url)
        return _sql_dump(self.url)

    def _sqlite_dump(self) -> list[str]:
        assert self.sqlite_dir is not None
        found = []
        for file in sorted(self.sqlite_dir.iterdir()):
            # Every byte of the database, its WAL and shared-memory index, as latin-1 text.
            found.append(f"{file.name}: {file.read_bytes().decode('latin-1')}")
        connection = sqlite3.connect(self.sqlite_dir / "tasks.db")
        try:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for (table,) in tables.fetchall():
                for row in connection.execute(f'SELECT * FROM "{table}"'):
                    found.append(f"{table}: {row!r}")
        finally:
            connection.close()
        return found


def _sql_dump(url: str) -> list[str]:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = "psycopg" if backend == "postgresql" else "pymysql"
    engine = create_engine(parsed.set(drivername=f"{backend}+{driver}"))
    found = []
    try:
        with engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n.startswith("taskflow_")]
            assert "taskflow_tasks" in names, names
            for name in names:
                table_rows = connection.execute(text(f"SELECT * FROM {name}")).all()
                found.extend(f"{name}: {_as_text(row)}" for row in table_rows)
    finally:
        engine.dispose()
    return found


def _as_text(row: Any) -> str:
    values = (bytes(v) if isinstance(v, (bytearray, memoryview)) else v for v in row)
    return " | ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values)


def _redis_dump(url: str) -> list[str]:
    import redis

    base, _, query = url.partition("?prefix=")
    client = redis.Redis.from_url(base)
    found = []
    try:
        for key in client.scan_iter(match=f"{query}:*", count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                value: Any = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = f"<{kind}>"
            found.append(f"{key.decode('latin-1')} ({kind}): {value!r}")
    finally:
        client.close()
    assert found, "the Redis store holds no keys at all"
    return found


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "memory":
        yield Store(kind, "memory://")
    elif kind == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        yield Store(kind, f"sqlite:///{folder / 'tasks.db'}", sqlite_dir=folder)
    elif kind == "redis":
        url = request.getfixturevalue("redis_url")
        yield Store(kind, f"{url}?prefix={request.getfixturevalue('redis_prefix')}")
    else:
        drop_task_tables = request.getfixturevalue("drop_task_tables")
        url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
        drop_task_tables(url)
        yield Store(kind, url)
        drop_task_tables(url)


def digest_of(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class CanaryApp:
    """An app whose tasks of every kind receive the canary and note what they received."""

    def __init__(
        self, store: Store, tmp_path: Path, worker_tasks: ModuleType, *, encrypt: bool = True
    ) -> None:
        self.canary = f"canary-{uuid.uuid4().hex}"
        self.nested = {"inner": [self.canary, {"deeper": self.canary}]}
        self.received: list[tuple[str, Any, Any, Any]] = []
        self.flaky_attempts = 0
        self.log_file = tmp_path / "logs" / "tasks.log"
        self.log_file.parent.mkdir()
        self.manager = TaskManager(
            storage_url=store.url,
            encrypt_args_key=Fernet.generate_key() if encrypt else None,
            log_file=str(self.log_file),
            log_lifecycle=True,
            loggers=[StdoutLogger(log_lifecycle=True, min_level="debug")],
            max_process_workers=1,
            process_shutdown_timeout=10.0,
        )
        self.app = FastAPI()
        TaskAdmin(self.app, self.manager, display_func_args=True, auto_install=True)
        self._register(worker_tasks)

    def _register(self, worker_tasks: ModuleType) -> None:
        tm, received = self.manager, self.received

        @tm.task()
        async def in_the_loop(secret: str, *, note: str, nested: dict[str, Any]) -> None:
            received.append(("async", secret, note, nested))
            task_log("async task done", level="debug", step="end")

        @tm.task()
        def in_a_thread(secret: str, *, note: str, nested: dict[str, Any]) -> None:
            received.append(("thread", secret, note, nested))
            task_log("thread task done")

        @tm.task(retries=2, delay=0.0)
        async def flaky(secret: str, *, note: str, nested: dict[str, Any]) -> None:
            self.flaky_attempts += 1
            if self.flaky_attempts == 1:
                raise RuntimeError("the first attempt fails on purpose")
            received.append(("flaky", secret, note, nested))

        @tm.task()
        async def always_fails(secret: str, *, note: str, nested: dict[str, Any]) -> None:
            received.append(("failing", secret, note, nested))
            raise ValueError("this task refuses on purpose")

        @tm.task()
        async def at_a_time(secret: str, *, note: str, nested: dict[str, Any]) -> None:
            received.append(("scheduled", secret, note, nested))

        in_a_process = tm.task(executor="process")(worker_tasks.match_digest)
        canary, nested = self.canary, self.nested

        @self.app.post("/enqueue")
        async def enqueue(background_tasks: BackgroundTasks) -> dict[str, str]:
            ids = {
                name: background_tasks.add_task(func, canary, note=canary, nested=nested)
                for name, func in [
                    ("async", in_the_loop),
                    ("thread", in_a_thread),
                    ("flaky", flaky),
                    ("failing", always_fails),
                ]
            }
            ids["process"] = background_tasks.add_task(
                in_a_process, [canary, nested], digest=digest_of([canary, nested])
            )
            await tm.schedule_once(
                at_a_time,
                canary,
                note=canary,
                nested=nested,
                run_at=datetime.now(timezone.utc),
                run_key="canary-run",
            )
            return ids


async def exercise(app: CanaryApp) -> list[str]:
    """Run every kind of task through the API and return everything the API answered."""
    answers: list[str] = []
    async with serve(app.app) as client:
        response = await client.post("/enqueue")
        assert response.status_code == 200, response.text
        ids: dict[str, str] = response.json()
        for name, task_id in ids.items():
            wanted = "failed" if name == "failing" else "success"
            await wait_for_status(client, task_id, [wanted])
        await wait_until(
            lambda: any(kind == "scheduled" for kind, *_ in app.received),
            "the one-off run to start",
        )
        scheduled = await _scheduled_task(client)
        await wait_for_status(client, scheduled)

        retried = await client.post(f"/tasks/{ids['failing']}/retry")
        assert retried.status_code == 200, retried.text
        answers.append(retried.text)
        second = retried.json()["task"]["task_id"]
        await wait_for_status(client, second, ["failed"])
        replay = await client.post(f"/tasks/{second}/retry", json={"kwargs": {"note": "new"}})
        assert replay.status_code == 400, replay.text
        assert "encrypted" in replay.json()["detail"]
        answers.append(replay.text)

        for path in ["/tasks?limit=1000", "/tasks/audit", "/tasks/schedules", "/tasks/metrics"]:
            page = await client.get(path)
            assert page.status_code == 200, (path, page.text)
            answers.append(page.text)
        dashboard = await client.get("/tasks/dashboard")
        assert dashboard.status_code == 200
        answers.append(dashboard.text)
        listed = (await client.get("/tasks?limit=1000")).json()
        assert all(task["encrypted"] for task in listed)
        assert all(task["args"] == [] and task["kwargs"] == {} for task in listed)
        for task in listed:
            detail = await client.get(f"/tasks/{task['task_id']}")
            answers.append(detail.text)
            record = await app.manager.get_task(task["task_id"])
            assert record is not None
            # What the live stream sends about the task.
            answers.append(json.dumps(compact(record), default=str))
        answers.append(repr(await app.manager.list_scheduled()))
        await app.manager.service.flush()
    return answers


async def _scheduled_task(client: Any) -> str:
    found: list[str] = []

    async def listed() -> bool:
        page = (await client.get("/tasks", params={"func_name": "at_a_time"})).json()
        found[:] = [task["task_id"] for task in page]
        return bool(found)

    await wait_until(listed, "the one-off run to be listed")
    return found[0]


@pytest.mark.parametrize("store", STORES, indirect=True)
async def test_the_canary_reaches_every_task_and_nothing_else(
    store: Store,
    tmp_path: Path,
    worker_tasks: ModuleType,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    app = CanaryApp(store, tmp_path, worker_tasks)
    canary = app.canary

    answers = await exercise(app)

    expected = (canary, canary, app.nested)
    by_kind: dict[str, list[tuple[Any, Any, Any]]] = {}
    for kind, *arguments in app.received:
        by_kind.setdefault(kind, []).append((arguments[0], arguments[1], arguments[2]))
    assert by_kind == {
        "async": [expected],
        "thread": [expected],
        "flaky": [expected],
        "failing": [expected, expected],  # the original and the operator's retry
        "scheduled": [expected],
    }
    assert app.flaky_attempts == 2

    leaks = [answer for answer in answers if canary in answer]
    assert leaks == [], "the canary appears in API answers"
    leaks = [entry for entry in store.dump() if canary in entry]
    assert leaks == [], f"the canary is stored in plain text: {leaks[:3]}"
    log_text = app.log_file.read_text()
    assert "the first attempt fails on purpose" in log_text  # the file logger did log
    assert canary not in log_text
    printed = capsys.readouterr().out
    assert "thread task done" in printed  # so did the stdout logger
    assert canary not in printed
    assert caplog.records, "logging captured nothing"
    leaked_records = [r.getMessage() for r in caplog.records if canary in r.getMessage()]
    assert leaked_records == []
    assert canary not in caplog.text


@pytest.mark.parametrize("store", STORES[1:], indirect=True)
async def test_without_encryption_the_same_probes_find_the_canary(
    store: Store, tmp_path: Path, worker_tasks: ModuleType
) -> None:
    """The probes above can fail: with encryption off, they find the canary in the store and
    in the API (which displays arguments)."""
    app = CanaryApp(store, tmp_path, worker_tasks, encrypt=False)

    async with serve(app.app) as client:
        ids = (await client.post("/enqueue")).json()
        await wait_for_status(client, ids["async"])
        shown = (await client.get(f"/tasks/{ids['async']}")).text
        await app.manager.service.flush()
        stored = store.dump()

    assert app.canary in shown
    assert any(app.canary in entry for entry in stored)
