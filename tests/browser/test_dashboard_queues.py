"""The dashboard's Queues tab: limits and load per queue, and editing limits in place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import QueueConfig, TaskAdmin, TaskManager

from .conftest import PageProblems, ThreadServer
from .test_dashboard_ui import expect, open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OpenPage = Callable[..., tuple[Any, PageProblems]]


@pytest.fixture
def shop(serve_app: Callable[[FastAPI], ThreadServer]) -> Iterator[tuple[ThreadServer, Any]]:
    tm = TaskManager(
        storage_url="memory://", queues={"pdf": QueueConfig(concurrency=1, max_size=1)}
    )
    app = FastAPI()
    TaskAdmin(app, tm)
    release = threading.Event()

    @tm.task(queue="pdf")
    def render(order: int) -> None:
        release.wait(timeout=60)

    server = serve_app(app)
    try:
        first = tm.add_task(render, 1)
        wait_running(server, first)
        second = tm.add_task(render, 2)  # one running, one waiting: the queue is full
        yield server, [first, second]
    finally:
        release.set()


def wait_running(server: ThreadServer, task_id: str) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.base_url}/tasks/{task_id}").json()["status"] != "running":
        assert time.monotonic() < deadline, f"task {task_id} did not start"
        time.sleep(0.05)


def test_the_queues_tab_shows_each_queue_and_edits_its_limits(
    new_page: OpenPage, shop: tuple[ThreadServer, list[str]]
) -> None:
    server, ids = shop
    page, problems = open_dashboard(new_page, server, "#tab=queues")
    pdf = page.locator('#queue-rows tr[data-queue="pdf"]')

    expect(pdf.locator(".queue-running")).to_have_text("1 / 1")
    expect(pdf.locator(".queue-pending")).to_have_text("1 / 1")
    expect(pdf.locator(".queue-full")).to_have_text("full")
    expect(page.locator('#queue-rows tr[data-queue="default"] .queue-running')).to_have_text(
        "0 / ∞"
    )

    pdf.locator(".queue-edit").click()
    concurrency = pdf.locator('input[name="concurrency"]')
    concurrency.fill("0")
    pdf.get_by_role("button", name="Save").click()
    expect(page.locator("#queues-error")).to_contain_text("at least 1")

    concurrency.fill("3")
    pdf.get_by_role("button", name="Save").click()

    # Raising the limit started the waiting task at once.
    expect(pdf.locator(".queue-running")).to_have_text("2 / 3")
    expect(pdf.locator(".queue-pending")).to_have_text("0 / 1")
    expect(pdf.locator(".queue-full")).to_have_count(0)
    expect(page.locator("#queues-error")).to_be_hidden()
    assert problems.messages == []
    for task_id in ids:
        wait_running(server, task_id)
