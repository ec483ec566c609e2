"""A livelier demo: tasks that retry, fail, log, run on schedules, wait in named queues and
run in threads, processes and the loop.

``make demo`` runs it on SQLite (``demo-tasks.db``). Open http://127.0.0.1:8000/tasks/dashboard,
then enqueue more work with ``curl -X POST "http://127.0.0.1:8000/orders?count=20"``, or hold
an order for a minute with ``curl -X POST http://127.0.0.1:8000/orders/42/hold`` (its hold is
released by a one-off run; ``GET /tasks/schedules`` shows what is scheduled).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import QueueConfig, TaskAdmin, TaskManager, get_task_context, task_log

task_manager = TaskManager(
    snapshot_db="demo-tasks.db",
    max_concurrent_tasks=8,
    # Receipts and invoices wait in queues of their own (see the dashboard's Queues tab):
    # a burst of orders cannot take every slot, and at most 500 receipts may wait before
    # POST /orders answers 429 with Retry-After.
    queues={
        "emails": QueueConfig(concurrency=2, max_size=500),
        "invoices": QueueConfig(concurrency=2),
    },
)


@task_manager.task(retries=3, delay=0.5, backoff=2.0, timeout=5)
async def charge_card(order_id: int, amount: float) -> None:
    """Talks to a payment gateway that times out now and then."""
    context = get_task_context()
    task_log("charging", order_id=order_id, amount=amount)
    await asyncio.sleep(random.uniform(0.05, 0.3))
    if random.random() < 0.35:
        raise TimeoutError(f"gateway timed out (attempt {context.attempt if context else 1})")
    task_log("charged", order_id=order_id)


@task_manager.task(retries=1, delay=0.2, queue="emails")
def send_receipt(order_id: int, email: str) -> None:
    """Blocking I/O: runs in a worker thread."""
    time.sleep(random.uniform(0.05, 0.2))
    if email.endswith("@invalid"):
        raise ValueError(f"cannot deliver to {email}")
    task_log(f"receipt sent to {email}", order_id=order_id)


@task_manager.task(executor="process", eager=True, queue="invoices")
def render_invoice(order_id: int) -> str:
    """CPU-bound: runs in a separate process."""
    digest = str(order_id).encode()
    for _ in range(200_000):
        digest = hashlib.sha256(digest).digest()
    task_log("invoice rendered", order_id=order_id)
    return digest.hex()


@task_manager.task(priority=9)
async def notify_fraud_team(order_id: int) -> None:
    task_log("suspicious order flagged", level="warning", order_id=order_id)


@task_manager.schedule(every=15, run_on_startup=True)
async def refresh_exchange_rates() -> None:
    """Periodic: every 15 seconds, on every instance together only once."""
    task_log("rates refreshed", eur_usd=round(random.uniform(1.05, 1.15), 4))


@task_manager.schedule(cron="*/5 * * * *", timezone="Europe/Paris", retries=2)
def reconcile_payouts() -> None:
    """Cron: every five minutes, read in Paris time."""
    task_log("payouts reconciled")


@task_manager.task()
async def release_hold(order_id: int) -> None:
    """Started once, a minute after an order was held (see ``/orders/{order_id}/hold``)."""
    task_log("hold released", order_id=order_id)


def place_order(background_tasks: BackgroundTasks, order_id: int) -> list[str]:
    email = "buyer@invalid" if order_id % 7 == 0 else f"buyer{order_id}@example.com"
    ids = [
        background_tasks.add_task(charge_card, order_id, round(random.uniform(5, 500), 2)),
        background_tasks.add_task(send_receipt, order_id, email, tags={"channel": "email"}),
        background_tasks.add_task(render_invoice, order_id),
    ]
    if order_id % 5 == 0:
        ids.append(background_tasks.add_task(notify_fraud_team, order_id))
    return ids


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Something to look at straight away.
    for order_id in range(1, 6):
        task_manager.add_task(charge_card, order_id, 10.0 * order_id)
    yield


app = FastAPI(title="fastapi-taskflow demo", lifespan=lifespan)
TaskAdmin(app, task_manager, auto_install=True, title="Taskflow demo")


@app.post("/orders")
def create_orders(background_tasks: BackgroundTasks, count: int = 5) -> dict[str, list[str]]:
    """Place ``count`` orders; each enqueues a charge, a receipt and an invoice."""
    start = random.randint(1000, 9999)
    ids = [tid for n in range(count) for tid in place_order(background_tasks, start + n)]
    return {"task_ids": ids}


@app.post("/orders/{order_id}/hold")
async def hold_order(order_id: int) -> dict[str, str]:
    """Hold an order for a minute; holding it again moves the release (same ``run_key``)."""
    run = await task_manager.schedule_once(
        release_hold,
        order_id,
        run_at=datetime.now(timezone.utc) + timedelta(minutes=1),
        run_key=f"release-hold:{order_id}",
    )
    return {"run_key": run.run_key, "run_at": run.run_at.isoformat()}
