"""The app the browser tests drive: a few task functions with logs, failures and a schedule."""

from __future__ import annotations

import threading
from typing import Any

import attrs
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager, task_log


class CardDeclined(Exception):
    """What ``charge_card`` raises for amounts over its limit."""


@attrs.define
class DemoApp:
    """The app, its manager and its task functions (to enqueue from the tests)."""

    app: FastAPI
    tm: TaskManager
    send_welcome: Any
    charge_card: Any
    export_report: Any
    #: Set to let running ``export_report`` tasks finish.
    release_exports: threading.Event


def build_demo_app(**admin_options: Any) -> DemoApp:
    tm = TaskManager(storage_url="memory://")
    app = FastAPI()
    options: dict[str, Any] = {"display_func_args": True, **admin_options}
    TaskAdmin(app, tm, **options)
    release = threading.Event()

    @tm.task(retries=2, delay=0.5, backoff=2)
    def send_welcome(address: str) -> None:
        task_log(f"rendering the welcome mail for {address}")
        task_log(f"welcome mail sent to {address}")

    @tm.task(priority=5)
    def charge_card(order_id: int, amount: float) -> None:
        task_log(f"charging order {order_id}: {amount:.2f} EUR")
        if amount > 100:
            task_log("the card issuer declined the payment", level="warning")
            raise CardDeclined(f"order {order_id}: {amount:.2f} EUR is over the card's limit")
        task_log(f"order {order_id} paid")

    @tm.task(requeue_on_interrupt=True)
    def export_report(report: str) -> None:
        task_log(f"exporting {report}")
        release.wait(timeout=60)
        task_log(f"{report} exported")

    @tm.schedule(every=3600, name="hourly_cleanup")
    def hourly_cleanup() -> None:
        task_log("removed expired sessions")

    return DemoApp(app, tm, send_welcome, charge_card, export_report, release)
