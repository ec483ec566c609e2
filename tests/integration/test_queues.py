"""Named queues through a real app: 429 with Retry-After, and the queue admin API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import QueueConfig, QueueFullError, TaskAdmin, TaskManager

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration


@attrs.define
class Shop:
    client: httpx.AsyncClient
    tm: TaskManager
    gate: asyncio.Event
    app: FastAPI


async def start_shop(**admin: Any) -> AsyncIterator[Shop]:
    tm = TaskManager(
        storage_url="memory://",
        queues={"pdf": QueueConfig(concurrency=1, max_size=2), "mail": QueueConfig()},
    )
    gate = asyncio.Event()
    app = FastAPI()
    TaskAdmin(app, tm, **admin)

    # Eager, so the request does not wait for the task (the in-process transport waits for
    # after-response work); it still takes a slot of its queue.
    @tm.task(queue="pdf", eager=True)
    async def render(order: int) -> None:
        await gate.wait()

    @app.post("/orders/{order}/invoice", status_code=202)
    def invoice(order: int, tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": tasks.add_task(render, order)}  # type: ignore[func-returns-value]

    async with serve(app) as client:
        yield Shop(client, tm, gate, app)
        gate.set()


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    async for running in start_shop():
        yield running


async def test_a_full_queue_answers_429_with_retry_after(shop: Shop) -> None:
    accepted = []
    for order in range(3):  # one running, two waiting: max_size is reached
        response = await shop.client.post(f"/orders/{order}/invoice")
        assert response.status_code == 202, response.text
        accepted.append(response.json()["task_id"])
    await wait_for_status(shop.client, accepted[0], ["running"])

    refused = await shop.client.post("/orders/99/invoice")

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["queue"] == "pdf" and body["max_size"] == 2 and body["waiting"] == 2
    assert "queue 'pdf' is full" in body["detail"]
    assert body["retry_after"] == int(refused.headers["Retry-After"])
    rejected = (await shop.client.get(f"/tasks/{body['task_id']}")).json()
    assert rejected["status"] == "rejected" and rejected["queue"] == "pdf"

    queues = {q["name"]: q for q in (await shop.client.get("/tasks/queues")).json()}
    assert queues["pdf"] | {"avg_duration": None} == {
        "name": "pdf",
        "concurrency": 1,
        "max_size": 2,
        "fair_by": None,
        "pending": 2,
        "running": 1,
        "rejected": 1,
        "finished": 0,
        "avg_duration": None,
        "full": True,
    }
    metrics = (await shop.client.get("/tasks/metrics")).json()
    assert metrics["by_queue"]["pdf"]["rejected"] == 1
    assert set(metrics["by_queue"]) == {"default", "mail", "pdf"}

    shop.gate.set()
    for task_id in accepted:
        await wait_for_status(shop.client, task_id)
    # The refused task is replayed like any dead letter once there is room.
    retried = await shop.client.post(f"/tasks/{body['task_id']}/retry")
    assert retried.status_code == 200, retried.text
    await wait_for_status(shop.client, retried.json()["task_id"])


async def test_patch_changes_a_queue_live_and_is_audited(shop: Shop) -> None:
    ids = [(await shop.client.post(f"/orders/{n}/invoice")).json()["task_id"] for n in range(3)]
    await wait_for_status(shop.client, ids[0], ["running"])

    response = await shop.client.patch("/tasks/queues/pdf", json={"concurrency": 3})

    assert response.status_code == 200, response.text
    assert response.json()["concurrency"] == 3 and response.json()["max_size"] == 2
    for task_id in ids:  # raising the cap started the waiting ones at once
        await wait_for_status(shop.client, task_id, ["running"])
    audit = (await shop.client.get("/tasks/audit", params={"action": "update_queue"})).json()
    (entry,) = audit
    assert entry["detail"]["queue"] == "pdf"
    assert entry["detail"]["before"]["concurrency"] == 1
    assert entry["detail"]["after"]["concurrency"] == 3

    # null lifts a limit; a field left out keeps its value.
    lifted = await shop.client.patch("/tasks/queues/pdf", json={"max_size": None})
    assert lifted.json()["max_size"] is None and lifted.json()["concurrency"] == 3
    assert shop.tm.service.queues.config("pdf") == QueueConfig(concurrency=3)


@pytest.mark.parametrize(
    "body",
    [
        {"concurrency": 0},
        {"max_size": -1},
        {"concurrency": "2"},
        {"concurrency": True},
        {"concurrency": 1.5},
        {"fair_by": ""},
        {"limit": 3},
    ],
)
async def test_patch_rejects_bad_bodies_with_422(shop: Shop, body: dict[str, Any]) -> None:
    response = await shop.client.patch("/tasks/queues/pdf", json=body)
    assert response.status_code == 422, response.text
    assert shop.tm.service.queues.config("pdf") == QueueConfig(concurrency=1, max_size=2)


async def test_patch_of_an_unknown_queue_is_404(shop: Shop) -> None:
    response = await shop.client.patch("/tasks/queues/nope", json={"concurrency": 2})
    assert response.status_code == 404
    assert "unknown queue 'nope'" in response.json()["detail"]


async def test_patch_needs_a_sign_in_and_the_csrf_token_and_records_the_actor() -> None:
    async for shop in start_shop(auth=("alice", "wonderland")):
        client = shop.client
        assert (
            await client.patch("/tasks/queues/pdf", json={"concurrency": 2})
        ).status_code == 401
        login = await client.post(
            "/tasks/login", data={"username": "alice", "password": "wonderland"}
        )
        token = login.json()["csrf_token"]
        without = await client.patch("/tasks/queues/pdf", json={"concurrency": 2})
        assert without.status_code == 403
        response = await client.patch(
            "/tasks/queues/pdf", json={"concurrency": 2}, headers={"X-Taskflow-CSRF": token}
        )
        assert response.status_code == 200, response.text
        (entry,) = (await client.get("/tasks/audit", params={"action": "update_queue"})).json()
        assert entry["actor"] == "alice"


async def test_the_429_handler_can_be_left_to_the_app() -> None:
    async for shop in start_shop(handle_queue_full=False):
        assert QueueFullError not in shop.app.exception_handlers

    tm = TaskManager(storage_url="memory://", max_size=1)
    app = FastAPI()
    tm.init_app(app)
    assert QueueFullError in app.exception_handlers


async def test_unknown_queues_are_refused_when_decorating_and_enqueueing() -> None:
    tm = TaskManager(storage_url="memory://", queues={"mail": QueueConfig()})
    with pytest.raises(ValueError, match="unknown queue 'pdf'; configured queues: default, mail"):
        tm.task(queue="pdf")
    with pytest.raises(ValueError, match="unknown queue 'pdf'"):
        tm.schedule(every=60, queue="pdf")

    @tm.task(queue="mail")
    def send() -> None: ...

    with pytest.raises(ValueError, match="unknown queue 'pdf'"):
        tm.add_task(send, queue="pdf")
    with pytest.raises(ValueError, match="QueueConfig"):
        TaskManager(storage_url="memory://", queues={"x": {"concurrency": 1}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="max_size"):
        TaskManager(storage_url="memory://", max_size=0)


async def test_limits_changed_live_survive_a_restart(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    first = TaskManager(storage_url=url, queues={"pdf": QueueConfig(concurrency=1)})
    await first.startup()
    try:
        await first.update_queue_config("pdf", concurrency=4, fair_by="tenant")
    finally:
        await first.shutdown()

    second = TaskManager(storage_url=url, queues={"pdf": QueueConfig(concurrency=1)})
    await second.startup()
    try:
        stats = {q["name"]: q for q in second.queue_stats()}
        assert stats["pdf"]["concurrency"] == 4 and stats["pdf"]["fair_by"] == "tenant"
    finally:
        await second.shutdown()


async def test_another_instance_applies_a_change_within_a_maintenance_tick(
    tmp_path: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # A short lease makes the maintenance tick (lease_ttl / 3) short.
    one = TaskManager(storage_url=url, lease_ttl=0.6, queues={"pdf": QueueConfig(concurrency=1)})
    two = TaskManager(storage_url=url, lease_ttl=0.6, queues={"pdf": QueueConfig(concurrency=1)})
    await one.startup()
    await two.startup()
    try:
        await one.update_queue_config("pdf", concurrency=5, max_size=50)
        assert one.service.queues.config("pdf") == QueueConfig(concurrency=5, max_size=50)
        await wait_until(
            lambda: two.service.queues.config("pdf") == QueueConfig(concurrency=5, max_size=50),
            "the other instance applied the change",
        )
    finally:
        await two.shutdown()
        await one.shutdown()
