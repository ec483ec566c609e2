"""Contract: queue limits changed at run time are kept, shared and survive a restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi_taskflow.domain.queue import QueueConfig
from fastapi_taskflow.ports.storage import TaskStorage


async def test_nothing_is_stored_at_first(storage: TaskStorage) -> None:
    assert await storage.queue_configs() == {}


async def test_the_latest_write_per_queue_wins_and_every_client_sees_it(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    await storage.save_queue_config("emails", QueueConfig(concurrency=2, max_size=100))
    await storage.save_queue_config("reports", QueueConfig(fair_by="tenant"))
    await peer.save_queue_config("emails", QueueConfig(concurrency=5, max_size=None))

    expected = {
        "emails": QueueConfig(concurrency=5, max_size=None),
        "reports": QueueConfig(fair_by="tenant"),
    }
    assert await storage.queue_configs() == expected
    assert await peer.queue_configs() == expected


async def test_stored_limits_survive_a_restart(
    storage: TaskStorage, restart: Callable[[], Awaitable[TaskStorage]]
) -> None:
    config = QueueConfig(concurrency=3, max_size=7, fair_by="customer")
    await storage.save_queue_config("default", config)
    reopened = await restart() if storage.durable else storage
    assert await reopened.queue_configs() == {"default": config}
