"""Contract: expiring locks held in the store, shared by every client of it."""

from __future__ import annotations

import asyncio
import time

import pytest

from fastapi_taskflow.ports.storage import TaskStorage

#: Longest wait for a short lock to expire; reaching it fails the test.
PATIENCE = 10.0


async def test_a_held_lock_is_refused_to_others_until_released(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    assert await storage.acquire("leader", "a", ttl=60) is True
    assert await peer.acquire("leader", "b", ttl=60) is False
    assert await storage.acquire("other-duty", "b", ttl=60) is True

    assert await peer.release("leader", "b") is False
    assert await storage.release("leader", "a") is True
    assert await peer.acquire("leader", "b", ttl=60) is True


async def test_the_holder_extends_its_lock_by_acquiring_it_again(storage: TaskStorage) -> None:
    assert await storage.acquire("leader", "a", ttl=60) is True
    assert await storage.acquire("leader", "a", ttl=60) is True
    assert await storage.release("leader", "a") is True
    assert await storage.release("leader", "a") is False


async def test_an_expired_lock_goes_to_the_next_taker(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    assert await storage.acquire("leader", "crashed", ttl=0.2) is True
    assert await peer.acquire("leader", "b", ttl=60) is False

    deadline = time.monotonic() + PATIENCE
    while not await peer.acquire("leader", "b", ttl=60):
        assert time.monotonic() < deadline, "the lock never expired"
        await asyncio.sleep(0.05)

    # The crashed holder cannot release what is no longer its own.
    assert await storage.release("leader", "crashed") is False
    assert await storage.acquire("leader", "c", ttl=60) is False


async def test_of_many_clients_racing_for_a_free_lock_exactly_one_wins(
    storage: TaskStorage, peer: TaskStorage
) -> None:
    clients = [storage, peer] * 10

    results = await asyncio.gather(
        *(client.acquire("leader", f"owner-{n}", ttl=60) for n, client in enumerate(clients))
    )

    assert results.count(True) == 1


async def test_a_non_positive_ttl_is_refused(storage: TaskStorage) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await storage.acquire("leader", "a", ttl=0)
