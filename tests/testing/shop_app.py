"""A small application as a user would write it: routes that enqueue tasks, a flaky task
with retries and a periodic job. Each call of :func:`build_shop` makes a fresh one."""

from __future__ import annotations

import attrs
from fastapi import Depends, FastAPI

from fastapi_taskflow import InMemoryLogger, ManagedBackgroundTasks, TaskManager, task_log


@attrs.define
class Shop:
    """The app, its manager and what its tasks did."""

    app: FastAPI
    manager: TaskManager
    observer: InMemoryLogger
    sent: list[str] = attrs.field(factory=list)
    charge_attempts: list[str] = attrs.field(factory=list)
    reports: list[str] = attrs.field(factory=list)


def build_shop(*, storage_url: str = "memory://", failures_before_success: int = 2) -> Shop:
    observer = InMemoryLogger()
    manager = TaskManager(storage_url=storage_url, loggers=[observer])
    app = FastAPI()
    manager.init_app(app)
    shop = Shop(app, manager, observer)

    @manager.task()
    async def send_receipt(email: str, *, order: str) -> None:
        task_log(f"receipt for {order} to {email}")
        shop.sent.append(email)

    @manager.task(retries=3, delay=60, backoff=2)
    async def charge_card(order: str) -> None:
        shop.charge_attempts.append(order)
        if len(shop.charge_attempts) <= failures_before_success:
            raise ConnectionError(f"gateway timeout #{len(shop.charge_attempts)}")
        manager.add_task(send_receipt, "buyer@example.com", order=order)

    @manager.schedule(every=300)
    async def sales_report() -> None:
        shop.reports.append("report")

    @app.post("/orders/{order}")
    async def place_order(
        order: str,
        tasks: ManagedBackgroundTasks = Depends(manager.get_tasks),  # noqa: B008
    ) -> dict[str, str]:
        return {"task_id": tasks.add_task(charge_card, order, tags={"order": order})}

    @app.post("/receipts")
    def resend_receipt(
        email: str,
        tasks: ManagedBackgroundTasks = Depends(manager.get_tasks),  # noqa: B008
    ) -> dict[str, str]:
        return {"task_id": tasks.add_task(send_receipt, email, order="resent")}

    return shop
