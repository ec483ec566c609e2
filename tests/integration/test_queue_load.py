"""Load: 10,000 tasks across capped queues, one of them fair by tenant.

An invariant checker runs at the start of every task: the tasks running in its queue never
exceed the queue's current cap, also after a cap is raised mid-run. Everything accepted
finishes; what ``max_size`` refused is recorded as rejected, exactly.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from fastapi_taskflow import QueueConfig, QueueFullError, TaskManager

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PATIENCE = 60.0


async def test_caps_hold_and_everything_finishes_with_10000_tasks() -> None:
    tm = TaskManager(
        storage_url="memory://",
        max_concurrent_tasks=8,
        recent_limit=0,
        queues={
            "reports": QueueConfig(concurrency=3, fair_by="tenant"),
            "mail": QueueConfig(concurrency=5, max_size=2500),
        },
    )
    running: Counter[str] = Counter()
    violations: list[tuple[str, int, int | None]] = []
    starts: list[tuple[str, str]] = []
    halfway = asyncio.Event()

    @tm.task()
    async def work(queue: str, tenant: str) -> None:
        running[queue] += 1
        cap = tm.service.queues.config(queue).concurrency
        if cap is not None and running[queue] > cap:
            violations.append((queue, running[queue], cap))
        starts.append((queue, tenant))
        if len(starts) == 2000:
            halfway.set()
        for _ in range(3):
            await asyncio.sleep(0)
        running[queue] -= 1

    await tm.startup()
    try:
        began = time.monotonic()
        accepted = 0
        rejected = 0
        plan = (
            [("default", "-")] * 4000
            + [("reports", "hot")] * 3000
            + [("reports", f"small{n}") for n in range(10) for _ in range(20)]
            + [("mail", "-")] * 2800
        )
        assert len(plan) == 10_000
        # Enqueued without yielding to the loop: nothing starts meanwhile, so mail's
        # max_size refuses exactly the tasks beyond it.
        for queue, tenant in plan:
            try:
                tm.add_task(work, queue, tenant, queue=queue, tags={"tenant": tenant})
                accepted += 1
            except QueueFullError as exc:
                assert exc.queue == "mail"
                rejected += 1
        assert (accepted, rejected) == (9700, 300)

        async def raise_reports_cap() -> None:
            await halfway.wait()
            await tm.update_queue_config("reports", concurrency=6)

        async def all_started() -> None:
            deadline = time.monotonic() + PATIENCE
            while len(starts) < accepted or tm.service.dispatcher.in_flight:
                assert time.monotonic() < deadline, f"{len(starts)} of {accepted} started"
                await asyncio.sleep(0.01)

        await asyncio.gather(raise_reports_cap(), all_started())
        elapsed = time.monotonic() - began
    finally:
        await tm.shutdown()

    assert violations == []
    assert len(starts) == accepted
    stats = {s["name"]: s for s in tm.queue_stats()}
    assert stats["mail"]["rejected"] == 300 and stats["mail"]["finished"] == 2500
    assert stats["reports"]["concurrency"] == 6
    assert sum(s["pending"] + s["running"] for s in stats.values()) == 0
    # Fairness: the 3000 tasks of the hot tenant, enqueued first, did not make the small
    # tenants wait behind them; every small tenant was served within its first turns.
    reports = [tenant for queue, tenant in starts if queue == "reports"]
    last_small = max(i for i, tenant in enumerate(reports) if tenant != "hot")
    assert last_small < 11 * 20 + 20, last_small
    print(f"10,000 tasks ({accepted} run) in {elapsed:.1f} s")
