"""Running tasks: attempts, retries with backoff on the clock, and outcomes."""

from __future__ import annotations

import pytest

from fastapi_taskflow.domain.status import TaskStatus

from .conftest import Harness

pytestmark = pytest.mark.asyncio


async def test_a_retry_after_sixty_seconds_happens_without_waiting(harness: Harness) -> None:
    calls: list[int] = []

    async def charge_card() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("gateway timeout")
        return "ok"

    harness.register(charge_card, retries=3, delay=60, backoff=2)
    started = harness.clock.now()
    record = await harness.run(charge_card)

    assert record.status is TaskStatus.SUCCESS
    assert record.retries_used == 2
    assert harness.clock.sleeps == [60.0, 120.0]
    assert (harness.clock.now() - started).total_seconds() == 180
    separators = [line for line in record.logs if "--- Retry" in line]
    assert [s.split(" ", 1)[1] for s in separators] == ["--- Retry 1 ---", "--- Retry 2 ---"]
    assert record.duration == 180


async def test_exhausted_retries_fail_with_error_and_stacktrace(harness: Harness) -> None:
    def send_email(address: str) -> None:
        raise ValueError(f"bad address {address}")

    harness.register(send_email, retries=1)
    record = await harness.run(send_email, "nobody")

    assert record.status is TaskStatus.FAILED
    assert record.error == "ValueError: bad address nobody"
    assert record.stacktrace is not None
    assert "send_email" in record.stacktrace and "raise ValueError" in record.stacktrace
    assert record.attempt == 2


async def test_max_delay_caps_the_waits(harness: Harness) -> None:
    async def flaky() -> None:
        raise RuntimeError("down")

    harness.register(flaky, retries=4, delay=10, backoff=10, max_delay=50)
    await harness.run(flaky)
    assert harness.clock.sleeps == [10.0, 50.0, 50.0, 50.0]


async def test_observers_see_every_transition_in_order(harness: Harness) -> None:
    attempts: list[int] = []

    async def sync_inventory() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("slow")

    harness.register(sync_inventory, retries=1)
    record = await harness.run(sync_inventory)
    await harness.idle()

    events = [
        (e.status.value, e.attempt)
        for e in harness.observer.lifecycle_events
        if e.task_id == record.task_id
    ]
    assert events == [("pending", 1), ("running", 1), ("running", 2), ("success", 2)]
    retry_event = harness.observer.lifecycle_events[2]
    assert retry_event.error == "TimeoutError: slow"


async def test_unregistered_functions_run_once_under_their_qualified_name(
    harness: Harness,
) -> None:
    seen: list[str] = []

    def plain(value: str) -> None:
        seen.append(value)

    record = await harness.run(plain, "x")
    assert record.status is TaskStatus.SUCCESS
    assert seen == ["x"]
    assert record.func_name == f"{__name__}.{plain.__qualname__}"
    assert plain.__name__ not in harness.service.registry
