"""Failing tasks are retried as configured, and a final failure is visible through the API."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager, task_log

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration


class PaymentDeclined(Exception):
    """The error the always-failing task raises."""


def charge_card(order: str) -> None:
    """Fails every time: a task whose error must be reported, not swallowed."""
    task_log(f"charging {order}")
    raise PaymentDeclined(f"card declined for {order}")


#: The source line of the ``raise`` in ``charge_card``, as a stack trace shows it.
RAISE_LINE = next(
    line.strip()
    for line in inspect.getsource(charge_card).splitlines()
    if line.strip().startswith("raise ")
)


@pytest.fixture
async def app_with_flaky_tasks() -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    """An app whose ``/flaky`` task fails twice then succeeds, and whose ``/declined`` task
    always fails; yields the client and the list of attempts ``/flaky`` made."""
    attempts: list[int] = []
    tm = TaskManager()
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @tm.task(retries=2, delay=0.01)
    async def flaky(order: str) -> None:
        attempts.append(len(attempts) + 1)
        task_log(f"attempt {len(attempts)} for {order}")
        if len(attempts) < 3:
            raise ConnectionError(f"gateway timeout on attempt {len(attempts)}")

    declined: Callable[..., Any] = tm.task(retries=1, delay=0.01)(charge_card)

    @app.post("/flaky")
    async def enqueue_flaky(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(flaky, "order-7")}

    @app.post("/declined")
    def enqueue_declined(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(declined, "order-9")}

    async with serve(app) as client:
        yield client, attempts


async def test_a_task_that_fails_twice_succeeds_on_its_second_retry(
    app_with_flaky_tasks: tuple[httpx.AsyncClient, list[int]],
) -> None:
    client, attempts = app_with_flaky_tasks

    task_id = (await client.post("/flaky")).json()["task_id"]
    record = await wait_for_status(client, task_id, ["success", "failed"])

    assert record["status"] == "success"
    assert record["retries_used"] == 2
    assert record["error"] is None
    assert attempts == [1, 2, 3]
    logs = record["logs"]
    separators = [line for line in logs if "--- Retry" in line]
    assert len(separators) == 2
    assert separators[0].endswith("--- Retry 1 ---")
    assert separators[1].endswith("--- Retry 2 ---")
    # Each attempt's own lines come after the separator that opens it.
    first, second = (logs.index(line) for line in separators)
    assert any("attempt 1 for order-7" in line for line in logs[:first])
    assert any("attempt 2 for order-7" in line for line in logs[first:second])
    assert any("attempt 3 for order-7" in line for line in logs[second:])


async def test_a_task_that_always_fails_ends_failed_with_its_error_and_stack_trace(
    app_with_flaky_tasks: tuple[httpx.AsyncClient, list[int]],
) -> None:
    client, _ = app_with_flaky_tasks

    task_id = (await client.post("/declined")).json()["task_id"]
    record = await wait_for_status(client, task_id, ["failed", "success"])

    assert record["status"] == "failed"
    assert record["retries_used"] == 1
    assert "PaymentDeclined" in record["error"]
    assert "card declined for order-9" in record["error"]
    stack = record["stacktrace"]
    assert "charge_card" in stack
    assert RAISE_LINE in stack
    assert "PaymentDeclined: card declined for order-9" in stack
    assert sum("charging order-9" in line for line in record["logs"]) == 2
    assert any(line.endswith("--- Retry 1 ---") for line in record["logs"])


async def test_failed_tasks_are_counted_in_the_metrics(
    app_with_flaky_tasks: tuple[httpx.AsyncClient, list[int]],
) -> None:
    client, _ = app_with_flaky_tasks

    ok = (await client.post("/flaky")).json()["task_id"]
    bad = (await client.post("/declined")).json()["task_id"]
    await wait_for_status(client, ok, ["success"])
    await wait_for_status(client, bad, ["failed"])

    metrics = (await client.get("/tasks/metrics")).json()
    assert metrics["total"] == 2
    assert metrics["success"] == 1
    assert metrics["failed"] == 1
    assert metrics["success_rate"] == pytest.approx(0.5)
    assert metrics["by_function"]["flaky"]["success"] == 1
    assert metrics["by_function"]["charge_card"]["failed"] == 1
