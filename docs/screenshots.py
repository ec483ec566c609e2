"""Takes the dashboard screenshots in docs/images/ from a demo app; rerun after UI changes.

    .venv/bin/python docs/screenshots.py

Needs the dev extra (Playwright) and Debian's ``chromium`` (``apt-get install chromium``);
nothing is downloaded. The app runs under uvicorn on a free loopback port, with in-memory
storage, and is stopped at the end.
"""

from __future__ import annotations

import math
import random
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, expect, sync_playwright

from fastapi_taskflow import (
    ExecutorKind,
    TaskAdmin,
    TaskManager,
    TaskRecord,
    TaskStatus,
    task_log,
)

# The browser starts as in the browser tests, whose settings live next to them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

IMAGES = Path(__file__).parent / "images"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 780}


class PaymentDeclined(Exception):
    pass


def demo_app() -> tuple[FastAPI, TaskManager, dict[str, Any], threading.Event]:
    tm = TaskManager(storage_url="memory://")
    app = FastAPI()
    TaskAdmin(app, tm, display_func_args=True, title="Acme shop")
    release = threading.Event()

    @tm.task(retries=2, delay=0.2)
    def send_welcome(address: str) -> None:
        task_log(f"rendering the welcome mail for {address}")
        task_log(f"welcome mail sent to {address}")

    @tm.task(retries=1, delay=0.1, priority=5)
    def charge_card(order_id: int, amount: float) -> None:
        task_log(f"charging order {order_id}: {amount:.2f} EUR")
        if amount > 100:
            task_log("the card issuer declined the payment", level="warning")
            raise PaymentDeclined(f"order {order_id}: {amount:.2f} EUR is over the card's limit")
        task_log(f"order {order_id} paid")

    @tm.task(executor="thread")
    def export_report(report: str) -> None:
        task_log(f"exporting {report}")
        release.wait(timeout=120)

    @tm.task(retries=3, delay=1.0, backoff=2.0)
    def sync_crm(account: int) -> None:
        task_log(f"pushing account {account} to the CRM")

    @tm.schedule(every=3600, name="hourly_cleanup")
    def hourly_cleanup() -> None:
        task_log("removed expired sessions")

    @tm.schedule(every=300, name="refresh_exchange_rates")
    def refresh_exchange_rates() -> None:
        task_log("rates refreshed")

    @app.post("/demo/history", include_in_schema=False)
    async def seed_history() -> dict[str, int]:
        # Runs on the server's loop, so it can write to the store like the app does.
        records = history(datetime.now(timezone.utc))
        await tm.service.storage.save(records)
        return {"saved": len(records)}

    functions = {
        "send_welcome": send_welcome,
        "charge_card": charge_card,
        "export_report": export_report,
        "sync_crm": sync_crm,
    }
    return app, tm, functions, release


class Server:
    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        config.timeout_graceful_shutdown = 5
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


#: Typical runs of the demo's functions in the seeded history: median seconds, how often a
#: run fails, and its keyword arguments and error for a number.
_HISTORY: dict[str, tuple[float, float, Any, Any]] = {
    "send_welcome": (0.04, 0.0, lambda n: {"address": f"user{n}@example.com"}, None),
    "sync_crm": (
        0.35,
        0.01,
        lambda n: {"account": 1000 + n},
        lambda n: f"ConnectionError: account {1000 + n}: the CRM refused the connection",
    ),
    "charge_card": (
        0.12,
        0.06,
        lambda n: {"order_id": n, "amount": 20.0 + n % 50},
        lambda n: f"TimeoutError: order {n}: the card issuer did not answer within 10 s",
    ),
}


def history(now: datetime) -> list[TaskRecord]:
    """A day of finished tasks, busier in the day than at night, for the activity chart."""
    rng = random.Random(7)
    records: list[TaskRecord] = []
    for half_hour in range(1, 48):
        ended = now - timedelta(minutes=30 * half_hour)
        hour = ended.hour + ended.minute / 60
        busy = 6 + 14 * max(0.0, math.sin((hour - 7) / 15 * math.pi))
        for _ in range(rng.randint(int(busy * 0.7), int(busy * 1.3))):
            func_name = rng.choice(list(_HISTORY))
            median, failing, kwargs, error = _HISTORY[func_name]
            end = ended - timedelta(seconds=rng.uniform(0, 1800))
            took = timedelta(seconds=median * math.exp(rng.gauss(0, 0.8)))
            roll = rng.random()
            status = TaskStatus.SUCCESS
            if roll < failing:
                status = TaskStatus.FAILED
            elif roll > 0.995:
                status = TaskStatus.CANCELLED
            number = rng.randint(100, 299)
            records.append(
                TaskRecord(
                    task_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    func_name=func_name,
                    status=status,
                    kwargs=kwargs(number),
                    created_at=end - took - timedelta(milliseconds=rng.randint(2, 40)),
                    start_time=end - took,
                    end_time=end,
                    error=error(number) if status is TaskStatus.FAILED else None,
                    executor=ExecutorKind.THREAD,
                )
            )
    return records


def settle(base_url: str, task_ids: list[str]) -> None:
    """Waits until every task finished."""
    for task_id in task_ids:
        for _ in range(1000):
            status = httpx.get(f"{base_url}/tasks/{task_id}").json()["status"]
            if status not in ("pending", "running"):
                break
            time.sleep(0.01)


def fill(tm: TaskManager, fn: dict[str, Any], base_url: str) -> dict[str, str]:
    httpx.post(f"{base_url}/demo/history").raise_for_status()
    done = [tm.add_task(fn["send_welcome"], f"user{n}@example.com") for n in range(6)]
    done += [tm.add_task(fn["sync_crm"], account) for account in (1042, 1043, 2001)]
    done += [tm.add_task(fn["charge_card"], order_id=n, amount=19.9 + n % 10) for n in (311, 312)]
    failed = [
        tm.add_task(fn["charge_card"], order_id=n, amount=amount, tags={"shop": "eu"})
        for n, amount in ((313, 480.0), (314, 129.9), (315, 250.0))
    ]
    settle(base_url, done + failed)
    replayed = httpx.post(
        f"{base_url}/tasks/{failed[2]}/retry", json={"kwargs": {"order_id": 315, "amount": 25.0}}
    ).json()["task_id"]
    running = tm.add_task(fn["export_report"], "monthly-sales.csv", tags={"team": "finance"})
    settle(base_url, [replayed])
    return {"failed": failed[0], "running": running, "replayed": replayed}


def shoot(page: Page, name: str) -> None:
    # The indicator shows the clock; wait until the stream is up so it reads "Live".
    expect(page.locator("#connection")).to_have_attribute("data-mode", "stream")
    page.wait_for_timeout(300)  # let the last rows and fonts settle before the picture
    page.screenshot(path=str(IMAGES / f"{name}.png"))
    print(f"wrote {IMAGES / name}.png")


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    app, tm, functions, release = demo_app()
    with Server(app) as server, sync_playwright() as playwright:
        ids = fill(tm, functions, server.base_url)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        dashboard = f"{server.base_url}/tasks/dashboard"
        try:
            for scheme in ("light", "dark"):
                context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
                page = context.new_page()
                page.goto(f"{dashboard}#tab=view&task={ids['failed']}")
                expect(page.locator("#detail .logs")).to_be_visible()
                expect(page.locator("#activity-chart .chart-bar").first).to_be_visible()
                expect(page.locator("#detail .chart-bar-duration").first).to_be_visible()
                shoot(page, "dashboard-view" if scheme == "light" else "dashboard-dark")
                if scheme == "light":
                    page.locator("#detail-close").click()
                    for tab in ("dead-letters", "schedules", "tasks"):
                        page.locator(f"#tab-{tab}").click()
                        expect(page.locator(f"#panel-{tab} tbody tr").first).to_be_visible()
                        if tab == "dead-letters":
                            page.locator("#dead-rows .dead-check:not([disabled])").first.check()
                        shoot(page, f"dashboard-{tab}")
                context.close()
            context = browser.new_context(viewport=PHONE, color_scheme="light")
            page = context.new_page()
            page.goto(dashboard)
            expect(page.locator("#task-rows tr.task-row").first).to_be_visible()
            expect(page.locator("#activity-chart .chart-bar").first).to_be_visible()
            page.evaluate("document.getElementById('activity-heading').scrollIntoView()")
            shoot(page, "dashboard-phone")
            context.close()
        finally:
            release.set()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
