"""The dashboard shows which request enqueued a task and lists the tasks of one request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from ..integration.conftest import PATIENCE
from .conftest import PageProblems, ThreadServer
from .demo_app import DemoApp, build_demo_app
from .test_dashboard_ui import expect, open_dashboard, row, wait_finished

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OpenPage = Callable[..., tuple[Any, PageProblems]]


@pytest.fixture
def demo() -> DemoApp:
    demo = build_demo_app()

    @demo.app.post("/teams/{team}/invites")
    async def invite(team: str, background_tasks: BackgroundTasks) -> dict[str, list[str]]:
        ids = [
            background_tasks.add_task(demo.send_welcome, f"{name}@{team}.example")
            for name in ("ada", "bo")
        ]
        return {"task_ids": ids}

    @demo.app.put("/orders/{order_id}")
    async def pay(order_id: int) -> dict[str, list[str]]:
        return {"task_ids": [demo.tm.add_task(demo.charge_card, order_id, 10.0)]}

    return demo


@pytest.fixture
def server(demo: DemoApp, serve_app: Callable[[FastAPI], ThreadServer]) -> ThreadServer:
    return serve_app(demo.app)


def call(server: ThreadServer, method: str, path: str, request_id: str) -> list[str]:
    """Calls the app as a client would; the ids of the tasks the request enqueued."""
    response = httpx.request(
        method, server.base_url + path, headers={"X-Request-ID": request_id}, timeout=PATIENCE
    )
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["task_ids"]
    for task_id in ids:
        wait_finished(server, task_id)
    return ids


def test_the_detail_panel_names_the_request_and_lists_its_tasks(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    first, second = call(server, "POST", "/teams/blue/invites", "req-blue")
    green = call(server, "POST", "/teams/green/invites", "req-green")[0]
    (paid,) = call(server, "PUT", "/orders/5", "req-pay")
    outside = demo.tm.add_task(demo.send_welcome, "cron@example.com")
    wait_finished(server, outside)
    page, problems = open_dashboard(new_page, server)
    expect(page.locator("#task-rows tr")).to_have_count(6)

    row(page, first).click()
    origin = page.locator("#detail .part-origin")
    expect(origin).to_contain_text("POST /teams/{team}/invites")
    expect(origin).to_contain_text("req-blue")

    # The request id lists that request's tasks, and the filter says so.
    origin.get_by_role("button", name="req-blue").click()
    expect(page.locator("#filter-request-id")).to_have_value("req-blue")
    expect(page.locator("#task-rows tr")).to_have_count(2)
    expect(row(page, first)).to_be_visible()
    expect(row(page, second)).to_be_visible()
    expect(page).to_have_url(f"{server.base_url}/tasks/dashboard#tab=view&task={first}")

    # A task of another request arriving live stays out; one of the same request joins.
    (later_other,) = call(server, "PUT", "/orders/6", "req-other")
    later_same = call(server, "POST", "/teams/blue/invites", "req-blue")
    for task_id in later_same:
        expect(row(page, task_id)).to_be_visible()
    expect(row(page, later_other)).to_have_count(0)
    expect(page.locator("#task-rows tr")).to_have_count(4)

    # The route lists the tasks of every request to it.
    origin.get_by_role("button", name="POST /teams/{team}/invites").click()
    expect(page.locator("#filter-request-id")).to_have_value("")
    expect(page.locator("#filter-route")).to_have_value("/teams/{team}/invites")
    expect(page.locator("#filter-method")).to_have_value("POST")
    expect(page.locator("#task-rows tr")).to_have_count(6)
    expect(row(page, green)).to_be_visible()
    expect(row(page, paid)).to_have_count(0)

    # Typed filters apply on Enter; Clear shows everything again.
    page.locator("#filter-route").fill("/orders/{order_id}")
    page.locator("#filter-method").select_option("PUT")
    page.locator("#filter-route").press("Enter")
    expect(page.locator("#task-rows tr")).to_have_count(2)
    expect(row(page, paid)).to_be_visible()
    page.locator("#filter-reset").click()
    expect(page.locator("#task-rows tr")).to_have_count(9)

    row(page, outside).click()
    expect(page.locator("#detail .part-origin")).to_contain_text("No request")
    assert problems.messages == []
