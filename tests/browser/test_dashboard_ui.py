"""The dashboard in headless Chromium: live updates, the detail panel, replay, every tab."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskStatus

from ..integration.conftest import PATIENCE, POLL
from .conftest import PATIENCE_MS, PageProblems, ThreadServer
from .demo_app import DemoApp, build_demo_app

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OpenPage = Callable[..., tuple[Any, PageProblems]]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def demo() -> DemoApp:
    return build_demo_app()


@pytest.fixture
def server(demo: DemoApp, serve_app: Callable[[FastAPI], ThreadServer]) -> ThreadServer:
    return serve_app(demo.app)


def open_dashboard(
    new_page: OpenPage, server: ThreadServer, hash_: str = "", **options: Any
) -> tuple[Any, PageProblems]:
    page, problems = new_page(**options)
    page.goto(f"{server.base_url}/tasks/dashboard{hash_}")
    # The stream is open once the indicator says so.
    expect(page.locator("#connection")).to_have_attribute("data-mode", "stream")
    return page, problems


def row(page: Any, task_id: str) -> Any:
    return page.locator(f'#task-rows tr[data-task-id="{task_id}"]')


def wait_finished(server: ThreadServer, task_id: str) -> dict[str, Any]:
    """Polls the API until the task finished (before a page that should show it opens)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        response = httpx.get(f"{server.base_url}/tasks/{task_id}", timeout=PATIENCE)
        if response.status_code == 200 and TaskStatus(response.json()["status"]).is_terminal:
            body: dict[str, Any] = response.json()
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"task {task_id} did not finish in {PATIENCE}s: {response.text}")
        time.sleep(POLL)


def test_the_dashboard_loads_without_console_errors(
    new_page: OpenPage, server: ThreadServer
) -> None:
    page, problems = open_dashboard(new_page, server)

    expect(page.locator(".tab.is-active")).to_have_text("View")
    expect(page.locator("#task-rows")).to_contain_text("No tasks yet")
    expect(page.locator('[data-metric="total"] .card-value')).to_have_text("0")
    assert problems.messages == []


def test_a_task_enqueued_after_load_appears_live_and_finishes(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    page, problems = open_dashboard(new_page, server)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    task_id = demo.tm.add_task(demo.send_welcome, "ada@example.com", tags={"team": "growth"})

    line = row(page, task_id)
    expect(line).to_be_visible()
    expect(line.locator(".badge")).to_have_text("success")
    expect(line).to_contain_text("send_welcome")
    expect(line).to_contain_text("default")
    expect(line).to_contain_text("manual")
    # The row came from the stream: the page did not list the tasks again.
    assert not [url for url in requests if re.search(r"/tasks\?", url)]
    expect(page.locator('[data-metric="success"] .card-value')).to_have_text("1")
    assert problems.messages == []


def test_the_detail_panel_shows_logs_error_stacktrace_and_the_function(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    ok = demo.tm.add_task(demo.charge_card, order_id=7, amount=20.0)
    failed = demo.tm.add_task(demo.charge_card, order_id=8, amount=500.0)
    wait_finished(server, ok)
    wait_finished(server, failed)
    page, problems = open_dashboard(new_page, server)

    row(page, failed).click()

    panel = page.locator("#detail")
    expect(panel).to_be_visible()
    expect(panel.locator(".detail-summary .badge")).to_have_text("failed")
    expect(panel.locator(".code-error")).to_contain_text("over the card's limit")
    panel.get_by_text("Stack trace").click()
    expect(panel.locator(".part-problems pre").nth(1)).to_contain_text("CardDeclined")
    expect(panel.locator(".logs")).to_contain_text("charging order 8: 500.00 EUR")
    expect(panel.locator(".logs .level-warning")).to_contain_text("declined")
    # The function's numbers and its recent runs, which open another task.
    expect(panel.locator(".stats")).to_contain_text("Runs2")
    expect(panel.locator(".recent-run")).to_have_count(2)
    expect(page).to_have_url(re.compile(f"#tab=view&task={failed}$"))
    panel.locator(".recent-run:not(.is-current)").click()
    expect(panel.locator(".detail-id")).to_have_text(ok)
    expect(panel.locator(".logs")).to_contain_text("order 7 paid")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert problems.messages == []


def test_a_reload_opens_the_same_tab_and_task(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    task_id = demo.tm.add_task(demo.send_welcome, "bo@example.com")
    wait_finished(server, task_id)
    page, problems = open_dashboard(new_page, server, f"#tab=dead-letters&task={task_id}")

    expect(page.locator(".tab.is-active")).to_contain_text("Dead letters")
    expect(page.locator("#panel-dead-letters")).to_be_visible()
    expect(page.locator("#detail .detail-id")).to_have_text(task_id)
    page.locator("#detail-close").click()
    page.locator("#tab-schedules").click()
    expect(page).to_have_url(re.compile("#tab=schedules$"))
    page.go_back()
    expect(page.locator(".tab.is-active")).to_contain_text("Dead letters")
    assert problems.messages == []


def test_filters_and_pause_count_what_arrives(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    first = demo.tm.add_task(demo.send_welcome, "first@example.com")
    wait_finished(server, first)
    page, problems = open_dashboard(new_page, server)
    expect(row(page, first)).to_be_visible()

    page.locator("#live-toggle").click()
    expect(page.locator("#live-label")).to_have_text("Paused")
    arrived = [demo.tm.add_task(demo.send_welcome, f"n{i}@example.com") for i in range(3)]
    expect(page.locator("#paused-note")).to_contain_text("3 new tasks")
    for task_id in arrived:
        expect(row(page, task_id)).to_have_count(0)

    page.locator("#live-toggle").click()
    for task_id in arrived:
        expect(row(page, task_id)).to_be_visible()

    page.select_option("#filter-status", "failed")
    expect(page.locator("#task-rows")).to_contain_text("No tasks match these filters.")
    failed = demo.tm.add_task(demo.charge_card, order_id=1, amount=1000.0)
    expect(row(page, failed)).to_be_visible()
    expect(page.locator("#task-rows tr")).to_have_count(1)
    assert problems.messages == []


def test_a_dead_letter_is_replayed_with_edited_arguments(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    failed = demo.tm.add_task(demo.charge_card, order_id=9, amount=250.0)
    wait_finished(server, failed)
    page, problems = open_dashboard(new_page, server, f"#tab=view&task={failed}")
    panel = page.locator("#detail")
    panel.get_by_text("Edit and replay").click()
    editor = panel.locator("#replay-kwargs")

    editor.fill('{"order_id": 9, "amount": ')
    expect(panel.locator("#replay-kwargs-hint")).to_contain_text("Not valid JSON")
    expect(panel.get_by_role("button", name=re.compile("^Replay"))).to_be_disabled()
    editor.fill('{"order_id": 9, "amount": 80}')
    panel.locator(".tag-key").last.fill("reason")
    panel.locator(".tag-value").last.fill("limit raised")
    panel.get_by_role("button", name="Replay with changes").click()
    page.locator("#confirm-ok").click()

    expect(panel.locator(".notice-ok")).to_contain_text("Started again as")
    expect(panel.locator(".retry-links")).to_contain_text("Retried as")
    panel.locator(".retry-links .link").click()
    expect(panel.locator(".detail-summary .badge")).to_have_text("success")
    expect(panel.locator(".retry-links")).to_contain_text("Retry of")
    expect(panel.locator(".part-tags")).to_contain_text("limit raised")
    expect(panel.locator(".part-args")).to_contain_text('"amount": 80')
    assert problems.messages == []


def test_dead_letters_are_replayed_by_selection_and_by_window(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    dead = [demo.tm.add_task(demo.charge_card, order_id=i, amount=900.0) for i in range(3)]
    for task_id in dead:
        wait_finished(server, task_id)
    page, problems = open_dashboard(new_page, server, "#tab=dead-letters")
    rows = page.locator("#dead-rows tr.task-row")
    expect(rows).to_have_count(3)
    expect(page.locator("#dead-letter-count")).to_have_text("3")

    page.locator(f'#dead-rows tr[data-task-id="{dead[0]}"] .dead-check').check()
    expect(page.locator("#replay-selected")).to_have_text("Replay selected (1)")
    page.locator("#replay-selected").click()
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-title")).to_have_text("Replay 1 task?")
    page.locator("#confirm-ok").click()
    outcome = page.locator("#replay-outcome")
    expect(outcome).to_contain_text("1 dispatched, 0 skipped")
    expect(outcome).to_contain_text("started again as")
    # The replayed task's row links to its new task and can no longer be selected.
    replayed = page.locator(f'#dead-rows tr[data-task-id="{dead[0]}"]')
    expect(replayed.locator(".dead-check")).to_be_disabled()

    # The new task (it fails again: same amount) shows up in the list, live.
    expect(rows).to_have_count(4)

    page.select_option("#dead-window", "1h")
    page.locator("#replay-window").click()
    page.locator("#confirm-back").click()
    expect(page.locator("#confirm")).to_be_hidden()
    expect(outcome).to_contain_text("1 dispatched")
    page.locator("#replay-window").click()
    page.locator("#confirm-ok").click()
    # The two never-replayed ones and the failed replay are dispatched again.
    expect(outcome).to_contain_text("3 dispatched")
    expect(rows).to_have_count(7)
    assert problems.messages == []


def test_the_tasks_and_schedules_tabs_list_functions_and_entries(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    task_id = demo.tm.add_task(demo.send_welcome, "cy@example.com")
    wait_finished(server, task_id)
    page, problems = open_dashboard(new_page, server, "#tab=tasks")

    functions = page.locator("#function-rows tr")
    expect(functions).to_have_count(4)
    welcome = page.locator('#function-rows tr[data-function="send_welcome"]')
    expect(welcome).to_contain_text("thread")
    expect(welcome).to_contain_text("500 ms \u00d7 2")
    expect(page.locator('#function-rows tr[data-function="hourly_cleanup"]')).to_contain_text(
        "every 1h 0m"
    )
    expect(page.locator('#function-rows tr[data-function="export_report"]')).to_contain_text(
        "requeue on interrupt"
    )
    welcome.get_by_role("button").click()
    expect(page.locator(".tab.is-active")).to_have_text("View")
    expect(page.locator("#filter-function")).to_have_value("send_welcome")
    expect(row(page, task_id)).to_be_visible()

    page.locator("#tab-schedules").click()
    entry = page.locator('#schedule-rows tr[data-schedule="hourly_cleanup"]')
    expect(entry).to_contain_text("every 1h 0m")
    expect(entry).to_contain_text(re.compile(r"in \d+m \d+s|in \d+\.\d s"))
    expect(page.locator("#schedules-note")).to_contain_text("1 periodic entry")
    # Without authentication there is no Audit tab and no session in the top bar.
    expect(page.locator("#tab-audit")).to_have_count(0)
    expect(page.locator("#sign-out")).to_have_count(0)
    assert problems.messages == []


def test_dark_mode_and_a_phone_sized_screen(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    failed = demo.tm.add_task(demo.charge_card, order_id=3, amount=300.0)
    wait_finished(server, failed)
    page, problems = open_dashboard(
        new_page, server, viewport={"width": 375, "height": 740}, color_scheme="dark"
    )

    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    # Nothing is wider than the screen: no sideways scrolling of the page itself.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    expect(page.locator("#tab-dead-letters")).to_be_visible()
    row(page, failed).click()
    panel = page.locator("#detail")
    box = panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 375
    page.locator("#detail-close").click()
    page.locator("#theme-toggle").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    for tab in ("tasks", "schedules", "dead-letters"):
        page.locator(f"#tab-{tab}").click()
        expect(page.locator(f"#panel-{tab}")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (tab, width)
    assert problems.messages == []


def test_without_event_source_the_page_polls(
    new_page: OpenPage, serve_app: Callable[[FastAPI], ThreadServer]
) -> None:
    demo = build_demo_app(poll_interval=1)
    server = serve_app(demo.app)
    page, problems = new_page()
    page.add_init_script("delete window.EventSource;")
    page.goto(f"{server.base_url}/tasks/dashboard")
    expect(page.locator("#connection")).to_have_attribute("data-mode", "polling")
    expect(page.locator("#connection")).to_contain_text("Polling every")

    task_id = demo.tm.add_task(demo.send_welcome, "poll@example.com")

    expect(row(page, task_id).locator(".badge")).to_have_text("success", timeout=PATIENCE_MS)
    assert problems.messages == []
