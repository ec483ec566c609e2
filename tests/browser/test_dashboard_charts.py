"""The server-rendered charts in the dashboard: activity in the View tab, durations in the
detail panel; what they ask the server for, when they refresh, and how they look."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from .conftest import PageProblems, ThreadServer
from .demo_app import DemoApp, build_demo_app
from .test_dashboard_ui import expect, open_dashboard, row, wait_finished

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OpenPage = Callable[..., tuple[Any, PageProblems]]

ACTIVITY = "#activity-chart"
CHART_REQUEST = re.compile(r"/tasks/charts/activity\.svg\?")

#: Sums the counts in the bars' titles ("12:30: 2 success") of one series of a chart.
BAR_TOTAL = """([root, series]) =>
  [...document.querySelectorAll(`${root} .chart-bar-${series}`)].reduce(
    (sum, bar) => sum + Number(/: (\\d+) /.exec(bar.querySelector("title").textContent)[1]),
    0,
  )"""


@pytest.fixture
def demo() -> DemoApp:
    return build_demo_app()


@pytest.fixture
def server(demo: DemoApp, serve_app: Callable[[FastAPI], ThreadServer]) -> ThreadServer:
    return serve_app(demo.app)


def finished(server: ThreadServer, demo: DemoApp, *, ok: int, failed: int) -> None:
    """Runs ``ok`` tasks that succeed and ``failed`` that fail, and waits for them."""
    ids = [demo.tm.add_task(demo.send_welcome, f"u{n}@example.com") for n in range(ok)]
    ids += [demo.tm.add_task(demo.charge_card, order_id=n, amount=900.0) for n in range(failed)]
    for task_id in ids:
        wait_finished(server, task_id)


def chart_summary(page: Any, root: str = ACTIVITY) -> Any:
    return page.locator(f"{root} svg.chart > desc")


def bar_total(page: Any, series: str, root: str = ACTIVITY) -> int:
    total: int = page.evaluate(BAR_TOTAL, [root, series])
    return total


def asks(*params: str) -> Callable[[Any], bool]:
    """Matches a request for the activity chart with all these query parameters."""
    return lambda request: (
        bool(CHART_REQUEST.search(request.url)) and all(param in request.url for param in params)
    )


def chart_requests(page: Any) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def test_the_activity_chart_shows_what_finished_and_follows_the_stream(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=3, failed=1)
    page, problems = new_page(timezone_id="Asia/Tokyo")
    urls = chart_requests(page)
    page.goto(f"{server.base_url}/tasks/dashboard")

    chart = page.locator(f"{ACTIVITY} svg.chart")
    expect(chart_summary(page)).to_have_text(re.compile(r"^4 tasks finished"))
    # One chart, parsed and imported as SVG (not an <img>, not markup put in as HTML).
    expect(chart).to_have_count(1)
    assert page.evaluate(f"document.querySelector('{ACTIVITY} svg').namespaceURI") == (
        "http://www.w3.org/2000/svg"
    )
    expect(page.locator(f"{ACTIVITY} .chart-bar-success").first).to_be_visible()
    expect(page.locator(f"{ACTIVITY} .chart-bar-failed").first).to_be_visible()
    # The last bar or two (tasks may straddle a bucket's end) hold every task.
    assert 1 <= page.locator(f"{ACTIVITY} .chart-bar-success").count() <= 2
    assert (bar_total(page, "success"), bar_total(page, "failed")) == (3, 1)
    expect(page.locator("#activity-scope")).to_have_text("all functions · last 24 hours")
    first = [url for url in urls if CHART_REQUEST.search(url)]
    assert first and all("tz=Asia%2FTokyo" in url for url in first), first
    assert all("since=24h" in url and "buckets=48" in url for url in first), first

    # A burst of changes (some 18 stream events) redraws the chart at most once per metrics
    # interval (3 s), not once per change.
    before = len([url for url in urls if CHART_REQUEST.search(url)])
    finished(server, demo, ok=5, failed=1)
    expect(chart_summary(page)).to_have_text(re.compile(r"^10 tasks finished"))
    assert bar_total(page, "failed") == 2
    redraws = len([url for url in urls if CHART_REQUEST.search(url)]) - before
    assert 1 <= redraws <= 4, redraws
    assert problems.messages == []


def test_the_chart_stands_still_while_paused_and_catches_up_on_resume(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=1, failed=0)
    page, problems = open_dashboard(new_page, server)
    expect(chart_summary(page)).to_have_text(re.compile(r"^1 tasks finished"))

    page.locator("#live-toggle").click()
    expect(page.locator("#live-label")).to_have_text("Paused")
    urls = chart_requests(page)
    finished(server, demo, ok=0, failed=1)
    # The counts were read again (they follow the store while paused); the chart was not.
    expect(page.locator('[data-metric="failed"] .card-value')).to_have_text("1")
    assert not [url for url in urls if CHART_REQUEST.search(url)]
    expect(chart_summary(page)).to_have_text(re.compile(r"^1 tasks finished"))

    page.locator("#live-toggle").click()
    expect(chart_summary(page)).to_have_text(re.compile(r"^2 tasks finished"))
    assert problems.messages == []


def test_the_window_selector_asks_for_another_span(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=1, failed=0)
    page, problems = open_dashboard(new_page, server)
    expect(chart_summary(page)).to_be_attached()
    windows = page.locator("#activity-windows")
    expect(windows.get_by_role("button", name="24h")).to_have_attribute("aria-pressed", "true")

    for label, buckets, scope in (("7d", 56, "last 7 days"), ("1h", 12, "last hour")):
        with page.expect_request(asks(f"since={label}", f"buckets={buckets}")):
            windows.get_by_role("button", name=label).click()
        expect(windows.get_by_role("button", name=label)).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#activity-scope")).to_have_text(f"all functions · {scope}")
    expect(windows.locator('[aria-pressed="true"]')).to_have_count(1)
    expect(page.locator(f"{ACTIVITY} svg.chart")).to_have_count(1)
    expect(page.locator(f"{ACTIVITY} .chart-bar-success").first).to_be_visible()
    assert problems.messages == []


def test_the_function_filter_narrows_the_chart(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=2, failed=1)
    page, problems = open_dashboard(new_page, server)
    expect(chart_summary(page)).to_have_text(re.compile(r"^3 tasks finished"))

    with page.expect_request(asks("func_name=charge_card", "since=24h")):
        page.select_option("#filter-function", "charge_card")

    expect(chart_summary(page)).to_have_text(re.compile(r"^1 tasks finished"))
    expect(page.locator(f"{ACTIVITY} .chart-bar-success")).to_have_count(0)
    expect(page.locator(f"{ACTIVITY} .chart-bar-failed").first).to_be_visible()
    expect(page.locator("#activity-scope")).to_have_text("charge_card · last 24 hours")

    page.locator("#filter-reset").click()
    expect(chart_summary(page)).to_have_text(re.compile(r"^3 tasks finished"))
    expect(page.locator("#activity-scope")).to_have_text("all functions · last 24 hours")
    assert problems.messages == []


def test_the_detail_panel_shows_the_functions_durations(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    welcome = [demo.tm.add_task(demo.send_welcome, f"d{n}@example.com") for n in range(2)]
    card = demo.tm.add_task(demo.charge_card, order_id=1, amount=10.0)
    for task_id in [*welcome, card]:
        wait_finished(server, task_id)
    page, problems = open_dashboard(new_page, server)
    panel = page.locator("#detail")

    with page.expect_request(re.compile(r"/charts/durations\.svg\?func_name=charge_card$")):
        row(page, card).click()
    expect(chart_summary(page, "#detail")).to_have_text("1 tasks with a duration")
    expect(panel.locator(".chart-bar-duration")).to_have_count(1)
    expect(panel.locator(".part-insights")).to_contain_text("Durations")

    with page.expect_request(re.compile(r"/charts/durations\.svg\?func_name=send_welcome$")):
        row(page, welcome[0]).click()
    expect(chart_summary(page, "#detail")).to_have_text("2 tasks with a duration")
    assert bar_total(page, "duration", "#detail") == 2
    assert problems.messages == []


def test_a_failed_load_keeps_the_chart_and_says_so(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=1, failed=0)
    page, problems = open_dashboard(new_page, server)
    expect(chart_summary(page)).to_have_text(re.compile(r"^1 tasks finished"))
    note = page.locator(f"{ACTIVITY} .chart-note")

    page.route(
        CHART_REQUEST,
        lambda route: route.fulfill(status=503, json={"detail": "storage unavailable"}),
    )
    page.locator("#activity-windows").get_by_role("button", name="6h").click()

    expect(note).to_have_text("The activity chart could not be loaded: storage unavailable")
    expect(note).to_have_attribute("role", "alert")
    # The chart on screen stays: better an older picture than none.
    expect(chart_summary(page)).to_have_text(re.compile(r"^1 tasks finished"))
    expect(page.locator("#activity-scope")).to_have_text("all functions · last 24 hours")

    page.unroute(CHART_REQUEST)
    page.locator("#activity-windows").get_by_role("button", name="1h").click()
    expect(note).to_be_hidden()
    expect(page.locator("#activity-scope")).to_have_text("all functions · last hour")
    # The browser reports the 503 itself; nothing else went wrong.
    assert [m for m in problems.messages if "503" not in m] == []


def test_markup_that_could_run_code_is_dropped_from_a_chart(
    new_page: OpenPage, server: ThreadServer
) -> None:
    page, problems = new_page()
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 640 200" '
        'onload="window.pwned = 1" style="fill: red">'
        "<desc>0 tasks finished</desc><script>window.pwned = 2</script>"
        '<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="/x"></iframe>'
        '</foreignObject><a href="javascript:window.pwned = 3"><text>x</text></a>'
        '<rect class="chart-bar chart-bar-success" onclick="window.pwned = 4" x="50" y="50" '
        'width="10" height="10"><title>10:00: 1 success</title></rect></svg>'
    )
    page.route(
        CHART_REQUEST,
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=hostile),
    )
    page.goto(f"{server.base_url}/tasks/dashboard")

    expect(page.locator(f"{ACTIVITY} .chart-bar-success")).to_have_count(1)
    page.locator(f"{ACTIVITY} .chart-bar-success").click()
    chart = page.locator(f"{ACTIVITY} svg")
    for selector in ("script", "foreignObject", "iframe", "a"):
        expect(chart.locator(selector)).to_have_count(0)
    for attribute in ("onload", "style"):
        assert chart.get_attribute(attribute) is None
    assert page.evaluate("window.pwned") is None
    # Parsing already applies the page's policy, which refuses the handlers and the style
    # (and says so); nothing else went wrong. The server's own charts cause no such refusal.
    refused = "violates the following Content Security Policy directive"
    assert problems.messages and all(refused in m for m in problems.messages), problems.messages

    page.route(
        CHART_REQUEST,
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hi</p>"),
    )
    page.locator("#activity-windows").get_by_role("button", name="7d").click()
    expect(page.locator(f"{ACTIVITY} .chart-note")).to_contain_text("the answer was not a chart")


def test_a_zone_the_server_does_not_know_falls_back_to_utc(
    new_page: OpenPage, server: ThreadServer
) -> None:
    page, problems = new_page(timezone_id="Asia/Tokyo")
    page.route(
        re.compile(r"/charts/activity\.svg\?.*tz=Asia%2FTokyo"),
        lambda route: route.fulfill(status=400, json={"detail": "unknown time zone"}),
    )
    page.goto(f"{server.base_url}/tasks/dashboard")

    expect(page.locator("#activity-scope")).to_have_text(
        "all functions · last 24 hours · times in UTC"
    )
    expect(page.locator(f"{ACTIVITY} svg.chart")).to_have_count(1)
    expect(page.locator(f"{ACTIVITY} .chart-note")).to_have_text(
        "No task finished in this window."
    )
    assert [m for m in problems.messages if "400" not in m] == []


def test_the_charts_fit_a_phone_and_take_the_themes_colours(
    new_page: OpenPage, server: ThreadServer, demo: DemoApp
) -> None:
    finished(server, demo, ok=2, failed=1)
    page, problems = open_dashboard(
        new_page, server, viewport={"width": 375, "height": 740}, color_scheme="dark"
    )
    bar = page.locator(f"{ACTIVITY} .chart-bar-success").first
    expect(bar).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    box = page.locator(f"{ACTIVITY} svg.chart").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    # Labels are drawn large enough to read at this size; every other one makes room.
    label = page.locator(f"{ACTIVITY} .chart-label").first
    assert label.evaluate("node => getComputedStyle(node).fontSize") == "20px"
    for minor in page.locator(f"{ACTIVITY} .chart-label-minor").all():
        expect(minor).to_be_hidden()

    def fills() -> tuple[str, str]:
        swatch = page.locator(".chart-legend .chart-bar-success")
        return (
            swatch.evaluate("node => getComputedStyle(node).fill"),
            bar.evaluate("node => getComputedStyle(node).fill"),
        )

    dark = fills()
    assert dark[0] == dark[1], dark
    page.locator("#theme-toggle").click()
    light = fills()
    assert light[0] == light[1] and light != dark, (light, dark)

    row(page, page.locator("#task-rows tr.task-row").first.get_attribute("data-task-id")).click()
    durations = page.locator("#detail svg.chart")
    expect(durations.locator(".chart-bar-duration").first).to_be_visible()
    box = durations.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert problems.messages == []
