"""The dashboard behind TaskAdmin(auth=...): sign-in, the session in the page, sign-out."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_taskflow.domain.audit import AuditAction

from .conftest import PageProblems, ThreadServer
from .demo_app import DemoApp, build_demo_app
from .test_dashboard_ui import expect, row

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OpenPage = Callable[..., tuple[Any, PageProblems]]


@pytest.fixture
def demo() -> DemoApp:
    return build_demo_app(auth=("ada", "correct horse"), secret_key="test-only-key" * 4)


@pytest.fixture
def server(demo: DemoApp, serve_app: Callable[[FastAPI], ThreadServer]) -> ThreadServer:
    return serve_app(demo.app)


def sign_in(page: Any, server: ThreadServer) -> None:
    page.goto(f"{server.base_url}/tasks/dashboard")
    expect(page).to_have_url(re.compile(r"/tasks/login"))
    page.locator('input[name="username"]').fill("ada")
    page.locator('input[name="password"]').fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tasks/dashboard"))
    expect(page.locator("#connection")).to_have_attribute("data-mode", "stream")


def test_sign_in_shows_the_user_streams_and_audits_a_retry(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    page, problems = new_page()
    sign_in(page, server)

    expect(page.locator(".session-user")).to_have_text("ada")
    assert page.locator("body").get_attribute("data-csrf-token")
    # Live updates arrive through the guarded stream.
    failed = demo.tm.add_task(demo.charge_card, order_id=5, amount=700.0)
    expect(row(page, failed).locator(".badge")).to_have_text("failed")

    # A retry is a POST: it carries the CSRF token, or the guard would refuse it.
    row(page, failed).click()
    page.locator("#detail").get_by_role("button", name="Retry", exact=True).click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#detail .notice-ok")).to_contain_text("Started again as")

    page.locator("#tab-audit").click()
    entry = page.locator("#audit-rows tr", has_text="retry")
    expect(entry.first).to_contain_text("ada")
    expect(entry.first.locator(".link").first).to_have_text(failed[:8])
    assert problems.messages == []


def test_sign_out_ends_the_session(new_page: OpenPage, server: ThreadServer) -> None:
    page, _problems = new_page()
    sign_in(page, server)

    page.locator("#sign-out").click()

    expect(page).to_have_url(re.compile(r"/tasks/login"))
    page.goto(f"{server.base_url}/tasks/dashboard")
    expect(page).to_have_url(re.compile(r"/tasks/login"))


def test_an_expired_session_leads_to_the_login_and_back(
    new_page: OpenPage, server: ThreadServer
) -> None:
    page, _problems = new_page()
    sign_in(page, server)
    page.locator("#tab-tasks").click()
    expect(page.locator('#function-rows tr[data-function="send_welcome"]')).to_be_visible()

    page.context.clear_cookies()
    page.locator("#tab-schedules").click()

    expect(page).to_have_url(re.compile(r"/tasks/login\?next="))
    page.locator('input[name="username"]').fill("ada")
    page.locator('input[name="password"]').fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tasks/dashboard#tab=schedules"))
    expect(page.locator("#panel-schedules")).to_be_visible()


def test_a_chart_refused_for_an_expired_session_leads_to_the_login(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    page, problems = new_page()
    sign_in(page, server)
    # The chart is read with the session's cookie, like the JSON API.
    expect(page.locator("#activity-chart svg.chart")).to_have_count(1)

    page.context.clear_cookies()
    page.locator("#activity-windows").get_by_role("button", name="7d").click()

    expect(page).to_have_url(re.compile(r"/tasks/login\?next="))
    page.locator('input[name="username"]').fill("ada")
    page.locator('input[name="password"]').fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tasks/dashboard(#tab=view)?$"))
    expect(page.locator("#activity-chart svg.chart")).to_have_count(1)
    # Only the refused chart request itself was reported.
    assert [m for m in problems.messages if "401" not in m] == []


def test_the_audit_tab_shows_retention_runs_as_the_system(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    page, problems = new_page()
    sign_in(page, server)
    detail = {"cutoff": "2026-01-01T00:00:00+00:00", "retention_days": 30, "deleted": 1203}
    # Playwright runs a loop in this thread; the memory store's audit trail is a plain list,
    # so the entry is recorded from a thread of its own.
    record = demo.tm.service.operator.audit.record(None, AuditAction.RETENTION, detail=detail)
    writer = threading.Thread(target=asyncio.run, args=(record,))
    writer.start()
    writer.join()

    page.locator("#tab-audit").click()
    page.locator("#audit-action").select_option("retention")

    entry = page.locator("#audit-rows tr", has_text="retention")
    expect(entry).to_have_count(1)
    expect(entry.locator("td").nth(1)).to_have_text("system")
    expect(entry).to_contain_text("deleted: 1203")
    expect(entry).to_contain_text("retention_days: 30")
    assert problems.messages == []
