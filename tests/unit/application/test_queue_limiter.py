"""The per-queue slot limiter: caps that change live, priority, and fairness between keys."""

from __future__ import annotations

import asyncio
import random

import pytest

from fastapi_taskflow.application.queue_limiter import QueueLimiter

pytestmark = pytest.mark.asyncio


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_unlimited_never_waits() -> None:
    limiter = QueueLimiter(None)
    for _ in range(100):
        await limiter.acquire(None)
    assert limiter.held == 100


@pytest.mark.parametrize("concurrency", [0, -1, True, 1.5])
async def test_concurrency_must_be_a_positive_integer(concurrency: object) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        QueueLimiter(concurrency)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concurrency"):
        QueueLimiter(1).resize(concurrency)  # type: ignore[arg-type]


async def test_a_cancelled_waiter_does_not_block_the_next_one() -> None:
    limiter = QueueLimiter(1)
    await limiter.acquire(None)
    doomed = asyncio.create_task(limiter.acquire(5))
    await settle()
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    assert limiter.waiting == 0
    limiter.release()
    await asyncio.wait_for(limiter.acquire(None), 1)
    assert limiter.held == 1


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_moves_on() -> None:
    limiter = QueueLimiter(1)
    await limiter.acquire(None)
    first = asyncio.create_task(limiter.acquire(10))
    second = asyncio.create_task(limiter.acquire(1))
    await settle()
    limiter.release()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it resumes
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    assert limiter.held == 1


async def _queue_up(limiter: QueueLimiter, labels: list[tuple[str, int | None, dict[str, str]]]):
    order: list[str] = []

    async def one(label: str, priority: int | None, tags: dict[str, str]) -> None:
        await limiter.acquire(priority, tags)
        order.append(label)

    tasks = [asyncio.create_task(one(*item)) for item in labels]
    await settle()
    return order, tasks


async def test_priority_first_then_arrival() -> None:
    limiter = QueueLimiter(1)
    await limiter.acquire(None)
    order, tasks = await _queue_up(
        limiter, [("low", None, {}), ("high", 5, {}), ("low2", None, {}), ("mid", 1, {})]
    )
    for _ in range(4):
        limiter.release()
        await settle()
    assert order == ["high", "mid", "low", "low2"]
    await asyncio.gather(*tasks)


async def test_raising_the_cap_starts_waiters_at_once() -> None:
    limiter = QueueLimiter(1)
    await limiter.acquire(None)
    order, tasks = await _queue_up(limiter, [(str(i), None, {}) for i in range(5)])
    assert order == []
    limiter.resize(4)
    await settle()
    assert order == ["0", "1", "2"] and limiter.held == 4
    limiter.resize(None)
    await settle()
    assert order == ["0", "1", "2", "3", "4"] and limiter.waiting == 0
    await asyncio.gather(*tasks)


async def test_lowering_the_cap_stops_nothing_and_starts_nothing_until_below_it() -> None:
    limiter = QueueLimiter(4)
    for _ in range(4):
        await limiter.acquire(None)
    order, tasks = await _queue_up(limiter, [("a", None, {}), ("b", None, {})])
    limiter.resize(2)
    assert limiter.held == 4  # nobody is pre-empted
    limiter.release()
    limiter.release()
    await settle()
    assert order == [] and limiter.held == 2  # 2 running = the new cap: still no start
    limiter.release()
    await settle()
    assert order == ["a"] and limiter.held == 2
    await asyncio.gather(*(t for t in tasks if t.done()))
    for task in tasks:
        task.cancel()


async def test_a_hot_key_cannot_starve_the_others() -> None:
    limiter = QueueLimiter(1, fair_by="tenant")
    await limiter.acquire(None)
    hot = [(f"hot{i}", None, {"tenant": "hot"}) for i in range(50)]
    others = [("a", None, {"tenant": "a"}), ("b", None, {"tenant": "b"}), ("none", None, {})]
    order, tasks = await _queue_up(limiter, [*hot, *others])
    for _ in range(6):
        limiter.release()
        await settle()
    # Round-robin between the keys in order of first arrival: each other key is served
    # within one turn, not after the 50 hot tasks.
    assert order == ["hot0", "a", "b", "none", "hot1", "hot2"]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_priority_orders_tasks_within_a_key() -> None:
    limiter = QueueLimiter(1, fair_by="tenant")
    await limiter.acquire(None)
    order, tasks = await _queue_up(
        limiter,
        [
            ("x-low", None, {"tenant": "x"}),
            ("x-high", 9, {"tenant": "x"}),
            ("y-low", None, {"tenant": "y"}),
            ("y-high", 3, {"tenant": "y"}),
        ],
    )
    for _ in range(4):
        limiter.release()
        await settle()
    assert order == ["x-high", "y-high", "x-low", "y-low"]
    await asyncio.gather(*tasks)


async def test_regrouping_keeps_waiters_and_their_order() -> None:
    limiter = QueueLimiter(1)
    await limiter.acquire(None)
    order, tasks = await _queue_up(
        limiter,
        [(f"a{i}", None, {"t": "a"}) for i in range(3)] + [("b0", None, {"t": "b"})],
    )
    limiter.regroup("t")
    assert limiter.waiting == 4
    for _ in range(4):
        limiter.release()
        await settle()
    assert order == ["a0", "b0", "a1", "a2"]
    await asyncio.gather(*tasks)


@pytest.mark.parametrize("seed", range(5))
async def test_the_cap_holds_while_it_changes_under_load(seed: int) -> None:
    """Many holders, random hold times, random resizes: every start sees held <= cap."""
    rng = random.Random(seed)
    limiter = QueueLimiter(3, fair_by="k")
    violations: list[tuple[int, int | None]] = []
    finished = 0

    async def worker(i: int) -> None:
        nonlocal finished
        async with limiter.slot(rng.choice([None, 1, 5]), {"k": str(i % 7)}):
            cap = limiter.concurrency
            if cap is not None and limiter.held > cap:
                violations.append((limiter.held, cap))
            for _ in range(rng.randint(0, 4)):
                await asyncio.sleep(0)
        finished += 1

    async def resizer() -> None:
        for _ in range(300):
            limiter.resize(rng.choice([1, 2, 3, 5, 8, None]))
            for _ in range(rng.randint(0, 3)):
                await asyncio.sleep(0)

    workers = [asyncio.create_task(worker(i)) for i in range(1000)]
    await asyncio.gather(resizer(), *workers)
    assert violations == []
    assert finished == 1000
    assert limiter.held == 0 and limiter.waiting == 0
