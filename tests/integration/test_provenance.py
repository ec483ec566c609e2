"""Each task records the request that enqueued it; the admin API shows and filters by it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, BackgroundTasks, FastAPI
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    SimpleUser,
    UnauthenticatedUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_status, wait_until
from .test_live_stream import opened

pytestmark = pytest.mark.integration

SECRET = "provenance-test-secret-key"
OPERATOR = ("olivia", "correct horse")


class BearerNames(AuthenticationBackend):
    """Takes ``Authorization: Bearer <name>`` at its word, as a test stand-in for real auth."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, name = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not name:
            return AuthCredentials(), UnauthenticatedUser()
        return AuthCredentials(["authenticated"]), SimpleUser(name)


@attrs.define
class Shop:
    """A running shop app with the admin API under ``/tasks``."""

    client: httpx.AsyncClient
    tm: TaskManager
    send_receipt: Any


def shop_app(tm: TaskManager, **admin_options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(AuthenticationMiddleware, backend=BearerNames())
    TaskAdmin(app, tm, **admin_options)

    @tm.task()
    def send_receipt(order_id: int) -> None:
        return None

    @tm.task(retries=0)
    def charge_card(order_id: int) -> None:
        raise RuntimeError(f"card declined for order {order_id}")

    @tm.task()
    async def fan_out(order_id: int) -> None:
        tm.add_task(send_receipt, order_id)

    @app.post("/batches/{order_id}")
    async def start_batch(order_id: int) -> dict[str, Any]:
        return {"task_ids": [tm.add_task(fan_out, order_id)]}

    @app.post("/orders/{order_id}")
    async def place_order(order_id: int, background_tasks: BackgroundTasks) -> dict[str, Any]:
        first = background_tasks.add_task(send_receipt, order_id)
        second = background_tasks.add_task(send_receipt, order_id + 1000)
        return {"task_ids": [first, second]}

    @app.put("/orders/{order_id}/refund")
    def refund(order_id: int) -> dict[str, Any]:
        # A sync route: FastAPI runs it in a worker thread.
        return {"task_ids": [tm.add_task(send_receipt, order_id)]}

    @app.post("/charges/{order_id}")
    async def charge(order_id: int) -> dict[str, Any]:
        return {"task_ids": [tm.add_task(charge_card, order_id)]}

    accounts = APIRouter()

    @accounts.post("/users/{user_id}/invite")
    async def invite(user_id: int) -> dict[str, Any]:
        return {"task_ids": [tm.add_task(send_receipt, user_id)]}

    app.include_router(accounts, prefix="/api/v1")
    app.state.send_receipt = send_receipt
    return app


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    tm = TaskManager(storage_url="memory://")
    app = shop_app(tm)
    async with serve(app) as client:
        yield Shop(client, tm, app.state.send_receipt)


async def enqueued(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["task_ids"]
    return ids


async def task_json(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["task_id"] for task in response.json()]


async def test_a_task_records_the_route_template_method_and_incoming_request_id(
    shop: Shop,
) -> None:
    ids = await enqueued(await shop.client.post("/orders/42", headers={"X-Request-ID": "req-42"}))

    for task_id in ids:
        assert (await task_json(shop.client, task_id))["provenance"] == {
            "route": "/orders/{order_id}",
            "method": "POST",
            "request_id": "req-42",
            "principal": None,
            "trace_parent": None,
        }
    assert sorted(await listed_ids(shop.client, request_id="req-42")) == sorted(ids)
    assert sorted(await listed_ids(shop.client, route="/orders/{order_id}")) == sorted(ids)
    assert await listed_ids(shop.client, route="/orders/42") == []


async def test_a_route_of_a_router_included_with_a_prefix_records_the_full_template(
    shop: Shop,
) -> None:
    (task_id,) = await enqueued(await shop.client.post("/api/v1/users/5/invite"))

    provenance = (await task_json(shop.client, task_id))["provenance"]
    assert provenance["route"] == "/api/v1/users/{user_id}/invite"
    assert await listed_ids(shop.client, route="/api/v1/users/{user_id}/invite") == [task_id]


async def test_without_a_header_one_made_up_id_is_shared_by_the_tasks_of_a_request(
    shop: Shop,
) -> None:
    first = await enqueued(await shop.client.post("/orders/1"))
    second = await enqueued(await shop.client.post("/orders/2"))

    first_ids = {(await task_json(shop.client, t))["provenance"]["request_id"] for t in first}
    second_ids = {(await task_json(shop.client, t))["provenance"]["request_id"] for t in second}
    assert len(first_ids) == len(second_ids) == 1
    assert first_ids != second_ids
    (made_up,) = first_ids
    assert made_up
    assert sorted(await listed_ids(shop.client, request_id=made_up)) == sorted(first)


async def test_the_authenticated_user_is_the_principal(shop: Shop) -> None:
    (carol,) = await enqueued(
        await shop.client.put("/orders/7/refund", headers={"Authorization": "Bearer carol"})
    )
    (anonymous,) = await enqueued(await shop.client.put("/orders/8/refund"))

    assert (await task_json(shop.client, carol))["provenance"]["principal"] == "carol"
    assert (await task_json(shop.client, anonymous))["provenance"]["principal"] is None
    assert await listed_ids(shop.client, principal="carol") == [carol]


async def test_a_sync_route_records_its_request_too(shop: Shop) -> None:
    (task_id,) = await enqueued(
        await shop.client.put("/orders/9/refund", headers={"X-Request-ID": "refund-9"})
    )

    provenance = (await task_json(shop.client, task_id))["provenance"]
    assert (provenance["route"], provenance["method"], provenance["request_id"]) == (
        "/orders/{order_id}/refund",
        "PUT",
        "refund-9",
    )
    assert await listed_ids(shop.client, method="PUT") == [task_id]


async def test_a_task_added_by_a_task_records_the_request_that_started_the_chain(
    shop: Shop,
) -> None:
    (parent,) = await enqueued(
        await shop.client.post("/batches/3", headers={"X-Request-ID": "chain-3"})
    )
    await wait_for_status(shop.client, parent, ["success"])

    async def both_listed() -> bool:
        return len(await listed_ids(shop.client, request_id="chain-3")) == 2

    await wait_until(both_listed, "the child task was listed under the parent's request")
    child, listed_parent = await listed_ids(shop.client, request_id="chain-3")
    assert listed_parent == parent
    provenance = (await task_json(shop.client, child))["provenance"]
    assert (provenance["route"], provenance["method"]) == ("/batches/{order_id}", "POST")


async def test_a_task_enqueued_outside_a_request_has_no_provenance(shop: Shop) -> None:
    from_request = await enqueued(await shop.client.post("/orders/3"))
    outside = shop.tm.add_task(shop.send_receipt, 3)

    assert (await task_json(shop.client, outside))["provenance"] is None
    assert outside not in await listed_ids(shop.client, method="POST")
    assert sorted(await listed_ids(shop.client, method="POST")) == sorted(from_request)


async def test_the_live_stream_carries_provenance() -> None:
    tm = TaskManager(storage_url="memory://")
    app = shop_app(tm)
    async with LifespanManager(app) as life:
        stream = await opened(life.app)
        transport = httpx.ASGITransport(app=life.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            (task_id,) = await enqueued(
                await client.put("/orders/5/refund", headers={"X-Request-ID": "live-5"})
            )

        batches = await stream.tasks_until(
            lambda tasks: any(t["task_id"] == task_id and t["status"] == "success" for t in tasks)
        )
        await stream.disconnect()

    streamed = [t for batch in batches for t in batch if t["task_id"] == task_id]
    assert streamed
    for record in streamed:
        assert record["provenance"]["route"] == "/orders/{order_id}/refund"
        assert record["provenance"]["request_id"] == "live-5"


@pytest.mark.parametrize("name", ["route", "method", "request_id", "principal"])
async def test_an_over_long_filter_is_refused_with_a_reason(shop: Shop, name: str) -> None:
    response = await shop.client.get("/tasks", params={name: "x" * 256})

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", name]
    assert "at most 255 characters" in error["msg"]


async def test_the_openapi_schema_types_provenance(shop: Shop) -> None:
    schema = (await shop.client.get("/openapi.json")).json()

    provenance = schema["components"]["schemas"]["ProvenanceOut"]["properties"]
    assert set(provenance) == {"route", "method", "request_id", "principal", "trace_parent"}
    listing = schema["paths"]["/tasks"]["get"]["parameters"]
    assert {"route", "method", "request_id", "principal"} <= {p["name"] for p in listing}


async def sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    """Sign in as the operator; the headers state-changing admin requests need."""
    username, password = OPERATOR
    response = await client.post("/tasks/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    csrf = response.json()["csrf_token"]
    return {"X-Taskflow-CSRF": csrf}


async def test_an_operator_retry_records_the_admin_request_and_operator() -> None:
    tm = TaskManager(storage_url="memory://")
    app = shop_app(tm, auth=OPERATOR, secret_key=SECRET)
    async with serve(app) as client:
        headers = await sign_in(client)
        (failed,) = await enqueued(
            await client.post("/charges/11", headers={"Authorization": "Bearer dave"})
        )
        await wait_for_status(client, failed, ["failed"])

        retry = await client.post(
            f"/tasks/{failed}/retry", headers={**headers, "X-Request-ID": "ops-1"}
        )
        assert retry.status_code == 200, retry.text
        again = retry.json()["task_id"]

        assert (await task_json(client, again))["provenance"] == {
            "route": "/tasks/{task_id}/retry",
            "method": "POST",
            "request_id": "ops-1",
            "principal": "olivia",
            "trace_parent": None,
        }
        # The original keeps the request that first enqueued it.
        original = (await task_json(client, failed))["provenance"]
        assert (original["route"], original["principal"]) == ("/charges/{order_id}", "dave")
        await wait_for_status(client, again, ["failed"])

        bulk = await client.post(
            "/tasks/bulk-retry",
            json={"task_ids": [again]},
            headers={**headers, "X-Request-ID": "ops-2"},
        )
        assert bulk.status_code == 200, bulk.text
        (result,) = bulk.json()["results"]
        third = (await task_json(client, result["new_task_id"]))["provenance"]
        assert (third["route"], third["request_id"], third["principal"]) == (
            "/tasks/bulk-retry",
            "ops-2",
            "olivia",
        )
        assert await listed_ids(client, principal="olivia") == [result["new_task_id"], again]


async def test_scheduled_runs_have_no_provenance() -> None:
    tm = TaskManager(storage_url="memory://")
    app = shop_app(tm)

    @tm.schedule(every=3600, run_on_startup=True)
    def nightly_report() -> None:
        return None

    async with serve(app) as client:
        found: list[dict[str, Any]] = []

        async def enqueued_by_the_scheduler() -> bool:
            found[:] = (await client.get("/tasks", params={"source": "scheduled"})).json()
            return bool(found)

        await wait_until(enqueued_by_the_scheduler, "the startup run was enqueued")
        assert [task["provenance"] for task in found] == [None]


async def test_provenance_survives_a_restart_on_sqlite(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    first = TaskManager(snapshot_db=path)
    async with serve(shop_app(first)) as client:
        ids = await enqueued(
            await client.post(
                "/orders/77",
                headers={"X-Request-ID": "before-restart", "Authorization": "Bearer erin"},
            )
        )
        for task_id in ids:
            await wait_for_status(client, task_id, ["success"])

    second = TaskManager(snapshot_db=path)
    async with serve(shop_app(second)) as client:
        for task_id in ids:
            assert (await task_json(client, task_id))["provenance"] == {
                "route": "/orders/{order_id}",
                "method": "POST",
                "request_id": "before-restart",
                "principal": "erin",
                "trace_parent": None,
            }
        assert sorted(await listed_ids(client, request_id="before-restart")) == sorted(ids)
        assert sorted(await listed_ids(client, principal="erin")) == sorted(ids)
