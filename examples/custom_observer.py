"""Writing your own observer: count failures per task and raise an alert when a task has
failed for good (every retry used up).

Run it with ``python examples/custom_observer.py``. It needs no network: alerts go to a
logger, and the comment on ``log_alert`` shows where a chat or paging service would go.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from fastapi_taskflow import (
    LifecycleEvent,
    LogEvent,
    TaskManager,
    TaskObserver,
    TaskStatus,
    task_log,
)

alert_log = logging.getLogger("examples.alerts")

#: Receives the text of one alert.
AlertSender = Callable[[str], Awaitable[None]]


async def log_alert(message: str) -> None:
    """Where the alert goes. In production, post it instead, for example:

    ``await http.post(SLACK_WEBHOOK_URL, json={"text": message})``
    """
    alert_log.error(message)


class FailureAlerts(TaskObserver):
    """Counts failed attempts and failed tasks per task name; alerts once a task has failed
    for good.

    A failed attempt that is followed by a retry is only counted: the ``running`` event that
    starts the retry carries the error of the attempt that failed. The ``failed`` event comes
    once no attempt is left, and that is when the alert goes out.
    """

    def __init__(self, send_alert: AlertSender = log_alert) -> None:
        self.send_alert = send_alert
        #: Attempts that raised, per task name (retried or not).
        self.failed_attempts: Counter[str] = Counter()
        #: Tasks that failed for good, per task name.
        self.failed_tasks: Counter[str] = Counter()
        #: ``task_log(..., level="error")`` lines, per task name.
        self.error_lines: Counter[str] = Counter()

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        if event.status is TaskStatus.RUNNING and event.error is not None:
            self.failed_attempts[event.func_name] += 1
        elif event.status is TaskStatus.FAILED:
            self.failed_attempts[event.func_name] += 1
            self.failed_tasks[event.func_name] += 1
            await self.send_alert(
                f"{event.func_name} failed for good after {event.attempt} attempt(s): "
                f"{event.error} (task {event.task_id}, tags {dict(event.tags)})"
            )

    async def on_log(self, event: LogEvent) -> None:
        if event.level == "error":
            self.error_lines[event.func_name] += 1

    async def close(self) -> None:
        # Called once at shutdown, after every queued event was delivered.
        if self.failed_tasks:
            summary = ", ".join(
                f"{name}={count}" for name, count in sorted(self.failed_tasks.items())
            )
            alert_log.warning("tasks that failed for good since start-up: %s", summary)


alerts = FailureAlerts()
task_manager = TaskManager(loggers=[alerts])

receipt_attempts: Counter[int] = Counter()


@task_manager.task(retries=2, delay=0.01)
async def charge_card(order_id: int) -> None:
    """Its gateway is down: three attempts fail, then the alert goes out."""
    task_log("calling the payment gateway", order_id=order_id)
    raise ConnectionError("payment gateway unreachable")


@task_manager.task(retries=2, delay=0.01)
async def send_receipt(order_id: int) -> None:
    """Fails once, then succeeds on its retry: counted, no alert."""
    receipt_attempts[order_id] += 1
    if receipt_attempts[order_id] == 1:
        task_log("mail server busy", level="error", order_id=order_id)
        raise TimeoutError("mail server busy")


async def main() -> None:
    """Run one failing and one recovering task, then shut down (which delivers every event)."""
    await task_manager.startup()
    task_ids = [
        task_manager.add_task(charge_card, 1001, tags={"customer": "acme"}),
        task_manager.add_task(send_receipt, 1001),
    ]
    for task_id in task_ids:
        record = await task_manager.get_task(task_id)
        while record is None or not record.status.is_terminal:
            await asyncio.sleep(0.01)
            record = await task_manager.get_task(task_id)
    await task_manager.shutdown()
    print(f"failed attempts: {dict(alerts.failed_attempts)}")
    print(f"failed tasks:    {dict(alerts.failed_tasks)}")
    print(f"error lines:     {dict(alerts.error_lines)}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
