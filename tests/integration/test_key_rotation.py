"""Rotating the argument encryption key on every durable store: tasks stored under the old key
still run after a restart with ``[new, old]``, new tasks use the new key alone, and a task no
configured key can open fails with a clear error instead of breaking the API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from dependency_injector import providers
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.adapters.clock import SystemClock

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration


class LaterClock(SystemClock):
    """The system clock, read two hours ahead: a restart that happens after a one-off run's
    time, without waiting for it."""

    def now(self) -> datetime:
        return super().now() + timedelta(hours=2)


class Deployment:
    """One start of the app with a given list of keys."""

    def __init__(
        self,
        url: str,
        keys: list[bytes],
        received: list[tuple[str, Any]],
        *,
        clock: SystemClock | None = None,
    ) -> None:
        self.manager = TaskManager(storage_url=url, encrypt_args_key=keys)
        if clock is not None:
            self.manager.container.clock.override(providers.Object(clock))
        self.app = FastAPI()
        TaskAdmin(self.app, self.manager, display_func_args=True)

        @self.manager.task()
        async def remember(label: str, *, secret: dict[str, Any]) -> None:
            received.append((label, secret))

        @self.manager.task()
        async def refuse(label: str, *, secret: dict[str, Any]) -> None:
            received.append((label, secret))
            raise RuntimeError("refused on purpose")

        self.remember = remember
        self.refuse = refuse

    def accept_without_running(self, label: str, secret: dict[str, Any]) -> str:
        """A task accepted but never started here, as when the process dies right after
        accepting it: the next start finds it pending in storage."""
        return self.manager.service.enqueue(self.remember, (label,), {"secret": secret}).task_id

    async def stored_payload(self, task_id: str) -> bytes:
        await self.manager.service.flush()
        record = await self.manager.service.storage.get(task_id)
        assert record is not None
        assert (record.args, record.kwargs) == ((), {})
        assert record.encrypted_payload is not None
        return record.encrypted_payload


async def test_rotation_keeps_old_tasks_readable_and_new_ones_on_the_new_key(
    shared_store: str,
) -> None:
    key_a, key_b, key_c = (Fernet.generate_key() for _ in range(3))
    secret = {"card": "4111-1111-1111-1111", "nested": ["x", {"y": 1}]}
    received: list[tuple[str, Any]] = []

    # Under key A: one task failed (to be retried later), one is still pending.
    first = Deployment(shared_store, [key_a], received)
    async with serve(first.app) as client:
        failed = first.manager.add_task(first.refuse, "failed-under-a", secret=secret)
        await wait_for_status(client, failed, ["failed"])
        pending_a = first.accept_without_running("pending-under-a", secret)
        assert Fernet(key_a).decrypt(await first.stored_payload(pending_a))
        await first.manager.schedule_once(
            first.remember,
            "one-off-under-a",
            secret=secret,
            run_at=datetime.now(timezone.utc) + timedelta(hours=1),
            run_key="rotation",
        )
    assert received == [("failed-under-a", secret)]

    # Restarted with [B, A], after the one-off run's time: the old tasks and the stored run
    # are read with A; new tasks are written with B.
    second = Deployment(shared_store, [key_b, key_a], received, clock=LaterClock())
    async with serve(second.app) as client:
        await wait_for_status(client, pending_a)
        one_off: list[str] = []

        async def one_off_started() -> bool:
            page = await client.get("/tasks", params={"func_name": "remember"})
            one_off[:] = [task["task_id"] for task in page.json() if task["task_id"] != pending_a]
            return bool(one_off)

        await wait_until(one_off_started, "the one-off run stored under A to start")
        await wait_for_status(client, one_off[0])
        retried = await client.post(f"/tasks/{failed}/retry")
        assert retried.status_code == 200, retried.text
        await wait_for_status(client, retried.json()["task"]["task_id"], ["failed"])
        fresh = second.manager.add_task(second.remember, "new-under-b", secret=secret)
        await wait_for_status(client, fresh)
        token = await second.stored_payload(fresh)
        assert Fernet(key_b).decrypt(token)
        with pytest.raises(InvalidToken):
            Fernet(key_a).decrypt(token)
        pending_b = second.accept_without_running("pending-under-b", secret)
    assert sorted(received[1:3]) == [("one-off-under-a", secret), ("pending-under-a", secret)]
    assert received[3:] == [("failed-under-a", secret), ("new-under-b", secret)]

    # Restarted with C alone, B dropped too early: that task fails, and says why.
    third = Deployment(shared_store, [key_c], received)
    async with serve(third.app) as client:
        body = await wait_for_status(client, pending_b, ["failed"])
        assert body["error"].startswith("UnreadableArguments: ")
        assert "cannot be decrypted with any key in encrypt_args_key" in body["error"]
        for key in (key_a, key_b, key_c):
            assert key.decode() not in body["error"]
        assert body["encrypted"] is True
        for path in ("/tasks", f"/tasks/{pending_b}", "/tasks/dashboard", "/tasks/metrics"):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
        again = await client.post(f"/tasks/{pending_b}/retry")
        assert again.status_code == 200, again.text
        await wait_for_status(client, again.json()["task"]["task_id"], ["failed"])
    assert ("pending-under-b", secret) not in received


@pytest.mark.parametrize(
    "keys",
    [
        "not-a-key",
        b"short",
        [Fernet.generate_key(), "not-a-key"],
        [],
    ],
    ids=["string", "bytes", "second-of-two", "empty-list"],
)
def test_an_invalid_key_is_refused_when_the_manager_is_made(keys: Any) -> None:
    with pytest.raises(ValueError, match="encrypt_args_key"):
        TaskManager(encrypt_args_key=keys)
