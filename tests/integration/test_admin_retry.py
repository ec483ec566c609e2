"""Retrying, replaying, bulk and window retries, history deletion, the audit log and the
function list, through the admin API of a real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration

attempts: list[dict[str, Any]] = []


@attrs.define
class Admin:
    client: httpx.AsyncClient
    tm: TaskManager
    charge: Any
    ping: Any


def make_app(tm: TaskManager, *, display_func_args: bool) -> tuple[FastAPI, Any, Any]:
    app = FastAPI()
    TaskAdmin(app, tm, display_func_args=display_func_args)

    @tm.task(retries=0)
    def charge(order: int, *, card: str = "expired") -> None:
        attempts.append({"order": order, "card": card})
        if card == "expired":
            raise ValueError(f"card {card} declined for order {order}")

    @tm.task()
    def ping() -> None:
        return None

    tm.schedule(every=3600)(ping)
    return app, charge, ping


@pytest.fixture(params=["memory", "sqlite"])
async def admin(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Admin]:
    attempts.clear()
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'tasks.db'}"
    tm = TaskManager(storage_url=url)
    app, charge, ping = make_app(tm, display_func_args=True)
    async with serve(app) as client:
        yield Admin(client, tm, charge, ping)


async def failed(admin: Admin, order: int = 1) -> str:
    task_id = admin.tm.add_task(admin.charge, order)
    await wait_for_status(admin.client, task_id, ["failed"])
    return task_id


async def test_a_retry_answers_the_new_task_and_links_both(admin: Admin) -> None:
    original = await failed(admin)

    response = await admin.client.post(f"/tasks/{original}/retry")

    assert response.status_code == 200, response.text
    body = response.json()
    new_id = body["task_id"]
    assert body["retried_from"] == original
    assert body["task"]["retried_from"] == original and body["task"]["args"] == [1]
    await wait_for_status(admin.client, new_id, ["failed"])
    old = (await admin.client.get(f"/tasks/{original}")).json()
    assert (old["status"], old["retried_as"]) == ("failed", new_id)
    assert "declined" in old["error"]


async def test_retry_errors_have_their_status_codes(admin: Admin) -> None:
    done = admin.tm.add_task(admin.ping)
    await wait_for_status(admin.client, done, ["success"])
    original = await failed(admin)
    first = (await admin.client.post(f"/tasks/{original}/retry")).json()["task_id"]

    refused = await admin.client.post(f"/tasks/{done}/retry")
    assert refused.status_code == 400 and "success" in refused.json()["detail"]
    assert (await admin.client.post("/tasks/unknown/retry")).status_code == 404
    again = await admin.client.post(f"/tasks/{original}/retry")
    assert again.status_code == 409 and first in again.json()["detail"]
    bad_tags = await admin.client.post(f"/tasks/{first}/retry", json={"tags": {"k": 1}})
    assert bad_tags.status_code == 422


async def test_edit_and_replay_changes_kwargs_and_tags(admin: Admin) -> None:
    original = await failed(admin, order=9)

    response = await admin.client.post(
        f"/tasks/{original}/retry",
        json={"kwargs": {"card": "valid"}, "tags": {"ticket": "OPS-1"}},
    )

    assert response.status_code == 200, response.text
    new = await wait_for_status(admin.client, response.json()["task_id"], ["success"])
    assert (new["kwargs"], new["tags"]) == ({"card": "valid"}, {"ticket": "OPS-1"})
    assert attempts[-1] == {"order": 9, "card": "valid"}
    audit = (await admin.client.get("/tasks/audit", params={"action": "replay"})).json()
    assert audit[0]["task_ids"] == [original]
    assert audit[0]["detail"]["changes"]["kwargs"] == {"added": {"card": "valid"}}


async def test_hidden_arguments_cannot_be_edited(tmp_path: Path) -> None:
    tm = TaskManager(storage_url="memory://")
    app, charge, _ping = make_app(tm, display_func_args=False)
    async with serve(app) as client:
        task_id = tm.add_task(charge, 3)
        await wait_for_status(client, task_id, ["failed"])

        edited = await client.post(f"/tasks/{task_id}/retry", json={"kwargs": {"card": "x"}})
        assert edited.status_code == 400 and "display_func_args" in edited.json()["detail"]
        plain = await client.post(f"/tasks/{task_id}/retry")
        assert plain.status_code == 200 and plain.json()["task"]["args"] == []


async def test_bulk_retry_reports_what_it_did(admin: Admin) -> None:
    one, two = await failed(admin, 1), await failed(admin, 2)

    response = await admin.client.post("/tasks/bulk-retry", json={"task_ids": [one, two, "nope"]})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["dispatched"], body["skipped"]) == (2, 1)
    outcomes = {result["task_id"]: result["outcome"] for result in body["results"]}
    assert outcomes == {one: "dispatched", two: "dispatched", "nope": "not_found"}
    assert (await admin.client.post("/tasks/bulk-retry", json={"task_ids": []})).status_code == 422


async def test_retry_failed_replays_a_window_once(admin: Admin) -> None:
    ids = [await failed(admin, order) for order in range(3)]

    first = await admin.client.post("/tasks/retry-failed", params={"since": "24h"})
    assert first.status_code == 200, first.text
    assert first.json()["dispatched"] == 3
    assert {result["task_id"] for result in first.json()["results"]} == set(ids)
    for result in first.json()["results"]:
        await wait_for_status(admin.client, result["new_task_id"], ["failed"])
    # Only the three new failures are left to replay.
    second = (await admin.client.post("/tasks/retry-failed", params={"since": "all"})).json()
    assert second["dispatched"] == 3 and not {r["task_id"] for r in second["results"]} & set(ids)
    other = await admin.client.post("/tasks/retry-failed", params={"func_name": "ping"})
    assert other.json()["dispatched"] == 0


@pytest.mark.parametrize("since", ["24", "0h", "5w", "h", "99999999d"])
async def test_retry_failed_refuses_a_bad_window(admin: Admin, since: str) -> None:
    response = await admin.client.post("/tasks/retry-failed", params={"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["detail"]


async def test_retry_failed_refuses_statuses_that_cannot_be_retried(admin: Admin) -> None:
    response = await admin.client.post("/tasks/retry-failed", params={"status": "success"})
    assert response.status_code == 400 and "statuses" in response.json()["detail"]


async def test_deleting_history_keeps_recent_tasks(admin: Admin) -> None:
    done = admin.tm.add_task(admin.ping)
    await wait_for_status(admin.client, done, ["success"])

    kept = await admin.client.delete("/tasks/history", params={"value": 1, "unit": "day"})
    assert kept.status_code == 200 and kept.json()["deleted"] == 0
    gone = await admin.client.delete("/tasks/history", params={"value": 0, "unit": "min"})
    assert gone.json()["deleted"] == 1
    assert (await admin.client.get(f"/tasks/{done}")).status_code == 404
    for bad in ({"value": 1, "unit": "week"}, {"value": -1, "unit": "day"}, {"unit": "day"}):
        assert (await admin.client.delete("/tasks/history", params=bad)).status_code == 422
    huge = await admin.client.delete("/tasks/history", params={"value": 10**9, "unit": "day"})
    assert huge.status_code == 400


async def test_the_audit_log_pages_newest_first(admin: Admin) -> None:
    ids = [await failed(admin, order) for order in range(3)]
    for task_id in ids:
        assert (await admin.client.post(f"/tasks/{task_id}/retry")).status_code == 200

    first = await admin.client.get("/tasks/audit", params={"limit": 2})
    assert first.status_code == 200
    cursor = first.headers["X-Next-Cursor"]
    second = await admin.client.get("/tasks/audit", params={"limit": 2, "cursor": cursor})
    entries = first.json() + second.json()
    assert [entry["task_ids"] for entry in entries] == [[ids[2]], [ids[1]], [ids[0]]]
    assert {entry["action"] for entry in entries} == {"retry"}
    assert all(entry["actor"] is None for entry in entries)  # no authentication here
    only = await admin.client.get("/tasks/audit", params={"task_id": ids[1]})
    assert [entry["task_ids"] for entry in only.json()] == [[ids[1]]]
    assert (await admin.client.get("/tasks/audit", params={"cursor": "junk"})).status_code == 400
    assert (await admin.client.get("/tasks/audit", params={"action": "x"})).status_code == 422


async def test_the_function_list_shows_config_and_schedule(admin: Admin) -> None:
    response = await admin.client.get("/tasks/functions")

    assert response.status_code == 200
    functions = {item["name"]: item for item in response.json()}
    assert functions["charge"]["executor"] == "thread"
    assert functions["charge"]["schedule"] is None
    assert functions["ping"]["schedule"]["type"] == "interval"
    assert functions["ping"]["schedule"]["every"] == 3600


async def test_a_retry_works_on_every_shared_store(shared_store: str) -> None:
    attempts.clear()
    tm = TaskManager(storage_url=shared_store)
    app, charge, _ping = make_app(tm, display_func_args=True)
    async with serve(app) as client:
        original = tm.add_task(charge, 5)
        await wait_for_status(client, original, ["failed"])
        response = await client.post(
            f"/tasks/{original}/retry", json={"kwargs": {"card": "valid"}}
        )
        assert response.status_code == 200, response.text
        await wait_for_status(client, response.json()["task_id"], ["success"])
        again = await client.post("/tasks/bulk-retry", json={"task_ids": [original]})
        assert again.json()["results"][0]["outcome"] == "already_retried"
        audit = (await client.get("/tasks/audit")).json()
        assert [entry["action"] for entry in audit] == ["bulk_retry", "replay"]
