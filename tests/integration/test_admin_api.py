"""The admin API: listing with filters and pagination, metrics, and what it shows of arguments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration


@attrs.define
class Deployment:
    """A running admin app and the manager behind it."""

    client: httpx.AsyncClient
    tm: TaskManager
    send_email: Any
    sync_crm: Any


@pytest.fixture(params=["memory", "sqlite"])
async def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Deployment]:
    """An app with an admin API, on in-memory storage and on a SQLite file."""
    if request.param == "sqlite":
        tm = TaskManager(snapshot_db=str(tmp_path / "tasks.db"))
    else:
        tm = TaskManager(storage_url="memory://")
    app = FastAPI()
    TaskAdmin(app, tm)

    @tm.task()
    def send_email(address: str) -> None:
        return None

    @tm.task()
    def sync_crm(account: int) -> None:
        raise TimeoutError(f"CRM did not answer for account {account}")

    async with serve(app) as client:
        yield Deployment(client, tm, send_email, sync_crm)


async def run_all(
    deployment: Deployment, calls: list[tuple[Any, tuple[Any, ...], dict[str, str]]]
) -> list[str]:
    """Enqueue each ``(func, args, tags)`` and wait until all of them finished."""
    ids = [deployment.tm.add_task(func, *args, tags=tags) for func, args, tags in calls]
    for task_id in ids:
        await wait_for_status(deployment.client, task_id, ["success", "failed"])
    return ids


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["task_id"] for task in response.json()]


async def test_filters_narrow_the_list(deployment: Deployment) -> None:
    growth = {"team": "growth"}
    ok_growth, ok_plain, failed_growth = await run_all(
        deployment,
        [
            (deployment.send_email, ("a@example.com",), growth),
            (deployment.send_email, ("b@example.com",), {}),
            (deployment.sync_crm, (7,), growth),
        ],
    )
    client = deployment.client

    everything = await listed_ids(client)
    assert everything == [failed_growth, ok_plain, ok_growth]  # newest first
    assert await listed_ids(client, status="failed") == [failed_growth]
    assert await listed_ids(client, status=["failed", "success"]) == everything
    assert await listed_ids(client, status=["pending", "running"]) == []
    assert await listed_ids(client, func_name="send_email") == [ok_plain, ok_growth]
    assert await listed_ids(client, tag="team:growth") == [failed_growth, ok_growth]
    assert await listed_ids(client, tag="team:growth", status="success") == [ok_growth]
    assert await listed_ids(client, tag="team:sales") == []


async def test_created_after_keeps_tasks_created_from_that_instant(deployment: Deployment) -> None:
    client = deployment.client
    (older,) = await run_all(deployment, [(deployment.send_email, ("old@example.com",), {})])
    stamp = (await client.get(f"/tasks/{older}")).json()["created_at"]
    # Python 3.10's fromisoformat does not read the "Z" suffix the API uses.
    older_created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    await wait_until(lambda: datetime.now(timezone.utc) > older_created, "the clock moved on")
    newer = await run_all(
        deployment,
        [(deployment.send_email, (f"{n}@example.com",), {}) for n in range(3)],
    )
    boundary = (await client.get(f"/tasks/{newer[0]}")).json()["created_at"]

    assert await listed_ids(client, created_after=boundary) == newer[::-1]
    assert await listed_ids(client, created_before=boundary) == [older]


async def test_pages_visit_every_task_exactly_once_newest_first(deployment: Deployment) -> None:
    client = deployment.client
    ids = await run_all(
        deployment, [(deployment.send_email, (f"{n}@example.com",), {}) for n in range(25)]
    )

    seen: list[str] = []
    sizes: list[int] = []
    params: dict[str, Any] = {"limit": 10}
    for _ in range(10):
        response = await client.get("/tasks", params=params)
        assert response.status_code == 200
        page = [task["task_id"] for task in response.json()]
        seen.extend(page)
        sizes.append(len(page))
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"]
        params = {"limit": 10, "cursor": cursor}

    assert seen == ids[::-1]
    assert sizes[:3] == [10, 10, 5]


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"tag": "team"}, "key:value"),
        ({"created_after": "2026-01-01T00:00:00"}, "time zone"),
        ({"created_before": "2026-01-01T00:00:00"}, "time zone"),
    ],
    ids=["bad-cursor", "tag-without-colon", "naive-created-after", "naive-created-before"],
)
async def test_malformed_list_parameters_are_a_400(
    deployment: Deployment, params: dict[str, str], complaint: str
) -> None:
    response = await deployment.client.get("/tasks", params=params)

    assert response.status_code == 400
    assert complaint in response.json()["detail"]


async def test_an_unknown_status_is_a_validation_error(deployment: Deployment) -> None:
    response = await deployment.client.get("/tasks", params={"status": "exploded"})

    assert response.status_code == 422


async def test_metrics_count_tasks_by_status_and_function(deployment: Deployment) -> None:
    await run_all(
        deployment,
        [
            (deployment.send_email, ("a@example.com",), {}),
            (deployment.send_email, ("b@example.com",), {}),
            (deployment.sync_crm, (1,), {}),
        ],
    )

    metrics = (await deployment.client.get("/tasks/metrics")).json()

    assert metrics["total"] == 3
    assert metrics["success"] == 2
    assert metrics["failed"] == 1
    assert metrics["pending"] == metrics["running"] == 0
    assert metrics["success_rate"] == pytest.approx(2 / 3)
    assert metrics["by_function"]["send_email"]["total"] == 2
    assert metrics["by_function"]["sync_crm"]["failed"] == 1
    assert metrics["avg_duration"] is not None
    # The original API's fields keep their names and meaning.
    assert metrics["avg_duration_seconds"] == pytest.approx(metrics["avg_duration"], abs=1e-6)
    assert metrics["finished_success_rate"] == pytest.approx(2 / 3)


async def test_an_unknown_task_is_a_404(deployment: Deployment) -> None:
    response = await deployment.client.get("/tasks/does-not-exist")

    assert response.status_code == 404


def args_app(tm: TaskManager, *, display_func_args: bool, received: list[Any]) -> FastAPI:
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True, display_func_args=display_func_args)

    @tm.task()
    def charge(card: str, *, amount: int) -> None:
        received.append((card, amount))

    @app.post("/charge")
    def route(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(charge, "4111-1111", amount=250)}

    return app


def files_containing(directory: Path, secret: bytes) -> list[str]:
    """Names of the files (database, WAL, journal) in which ``secret`` appears as is."""
    return [file.name for file in directory.iterdir() if secret in file.read_bytes()]


@pytest.mark.parametrize("display", [False, True], ids=["hidden", "shown"])
async def test_arguments_are_shown_only_when_the_admin_displays_them(display: bool) -> None:
    received: list[Any] = []
    app = args_app(TaskManager(), display_func_args=display, received=received)

    async with serve(app) as client:
        task_id = (await client.post("/charge")).json()["task_id"]
        record = await wait_for_status(client, task_id)
        (listed,) = (await client.get("/tasks")).json()

    assert received == [("4111-1111", 250)]
    if display:
        expected: tuple[list[Any], dict[str, Any]] = (["4111-1111"], {"amount": 250})
    else:
        expected = ([], {})
    assert (record["args"], record["kwargs"]) == expected
    assert (listed["args"], listed["kwargs"]) == expected
    assert record["encrypted"] is False


async def test_encrypted_arguments_are_never_shown_or_stored_but_reach_the_task(
    tmp_path: Path,
) -> None:
    database = tmp_path / "tasks.db"
    received: list[Any] = []
    tm = TaskManager(snapshot_db=str(database), encrypt_args_key=Fernet.generate_key())
    app = args_app(tm, display_func_args=True, received=received)

    async with serve(app) as client:
        task_id = (await client.post("/charge")).json()["task_id"]
        record = await wait_for_status(client, task_id)
        (listed,) = (await client.get("/tasks")).json()

    assert received == [("4111-1111", 250)]
    assert record["encrypted"] is True
    assert (record["args"], record["kwargs"]) == ([], {})
    assert (listed["args"], listed["kwargs"]) == ([], {})
    storage = SqlAlchemyTaskStorage(f"sqlite:///{database}", serializer=TaggedJsonSerializer())
    await storage.open()
    try:
        stored = await storage.get(task_id)
    finally:
        await storage.close()
    assert stored is not None
    assert stored.encrypted_payload is not None
    assert (stored.args, stored.kwargs) == ((), {})
    assert files_containing(tmp_path, b"4111-1111") == []
