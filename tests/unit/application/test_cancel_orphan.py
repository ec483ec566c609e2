"""Cancelling, from a process that holds no tasks, a task no live instance holds; on the fake
clock and memory storage."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.application.audit_log import AuditLog
from fastapi_taskflow.application.cancel_orphan import CANCEL_LEASE, cancel_orphan
from fastapi_taskflow.domain.audit import AuditAction
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound, TaskOwnedElsewhere
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.audit import AuditQuery

LEASE = 30.0
ME = "cli-me"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.storage = MemoryTaskStorage(clock=self.clock)
        self.audit = AuditLog(trail=self.storage, clock=self.clock)

    async def stored(
        self, task_id: str, *, owner: str | None, status: TaskStatus = TaskStatus.PENDING
    ) -> TaskRecord:
        record = TaskRecord(
            task_id=task_id, func_name="send", created_at=self.clock.now(), instance_id=owner
        )
        if status is not TaskStatus.PENDING:
            record.start(self.clock.now())
        if status is TaskStatus.SUCCESS:
            record.succeed(self.clock.now())
        await self.storage.save([record])
        return record

    async def alive(self, instance_id: str) -> None:
        await self.storage.heartbeat(instance_id, self.clock.now(), LEASE)

    async def cancel(self, task_id: str, storage: MemoryTaskStorage | None = None) -> TaskRecord:
        return await cancel_orphan(
            task_id,
            storage=storage or self.storage,
            audit=self.audit,
            clock=self.clock,
            owner=ME,
            actor="cli:alice",
        )

    async def status(self, task_id: str) -> TaskStatus:
        record = await self.storage.get(task_id)
        assert record is not None
        return record.status

    async def audited(self) -> list[tuple[AuditAction, str | None, tuple[str, ...]]]:
        page = await self.audit.page(AuditQuery(), limit=100)
        return [(entry.action, entry.actor, entry.task_ids) for entry in page.items]


@pytest.fixture
def world() -> World:
    return World()


async def test_a_pending_task_without_owner_is_cancelled_and_audited(world: World) -> None:
    await world.stored("handed-off", owner=None)

    cancelled = await world.cancel("handed-off")

    assert cancelled.status is TaskStatus.CANCELLED
    assert cancelled.end_time == world.clock.now()
    assert await world.status("handed-off") is TaskStatus.CANCELLED
    assert await world.audited() == [(AuditAction.CANCEL, "cli:alice", ("handed-off",))]
    page = await world.audit.page(AuditQuery(), limit=1)
    assert page.items[0].detail == {"orphan": True, "previous_owner": None}


async def test_a_pending_task_of_an_instance_whose_lease_expired_is_cancelled(
    world: World,
) -> None:
    await world.alive("crashed")
    await world.stored("left-behind", owner="crashed")
    await world.clock.sleep(LEASE + 1)

    await world.cancel("left-behind")

    assert await world.status("left-behind") is TaskStatus.CANCELLED
    page = await world.audit.page(AuditQuery(), limit=1)
    assert page.items[0].detail["previous_owner"] == "crashed"


async def test_a_running_task_of_a_dead_instance_is_cancelled(world: World) -> None:
    await world.stored("stuck", owner="gone", status=TaskStatus.RUNNING)

    await world.cancel("stuck")

    assert await world.status("stuck") is TaskStatus.CANCELLED


@pytest.mark.parametrize("status", [TaskStatus.PENDING, TaskStatus.RUNNING])
async def test_a_task_of_a_live_instance_is_refused_naming_it(
    world: World, status: TaskStatus
) -> None:
    await world.alive("web-1")
    await world.stored("busy", owner="web-1", status=status)
    await world.clock.sleep(LEASE / 2)

    with pytest.raises(TaskOwnedElsewhere, match="instance web-1") as refused:
        await world.cancel("busy")

    assert refused.value.owner == "web-1"
    assert await world.status("busy") is status
    stored = await world.storage.get("busy")
    assert stored is not None and stored.instance_id == "web-1"
    assert await world.audited() == []


async def test_unknown_and_finished_tasks_are_refused(world: World) -> None:
    await world.stored("done", owner=None, status=TaskStatus.SUCCESS)

    with pytest.raises(TaskNotFound):
        await world.cancel("nope")
    with pytest.raises(InvalidTransition, match="'success' to 'cancelled'"):
        await world.cancel("done")
    assert await world.audited() == []


async def test_the_canceller_is_live_while_it_works_and_gone_afterwards(world: World) -> None:
    seen: list[frozenset[str]] = []

    class Watching(MemoryTaskStorage):
        async def save(self, records: Sequence[TaskRecord]) -> None:
            seen.append(await self.live_instances(world.clock.now()))
            await super().save(records)

    storage = Watching(clock=world.clock)
    world.storage = storage
    world.audit = AuditLog(trail=storage, clock=world.clock)
    await world.stored("t", owner=None)
    seen.clear()

    await world.cancel("t", storage)

    # While the claimed task is written back, a sweep sees its claimant alive and leaves it.
    assert seen == [frozenset({ME})]
    assert await storage.live_instances(world.clock.now()) == frozenset()
    assert CANCEL_LEASE > 0


async def test_a_task_taken_by_a_live_sweeper_first_is_refused(world: World) -> None:
    await world.alive("web-2")

    class Racing(MemoryTaskStorage):
        """A live instance's recovery sweep claims the orphan just before the canceller."""

        async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
            await super().claim(task_id, "web-2", expected_owner)
            return await super().claim(task_id, owner, expected_owner)

    storage = Racing(clock=world.clock)
    await storage.heartbeat("web-2", world.clock.now(), LEASE)
    world.storage = storage
    await world.stored("orphan", owner=None)

    with pytest.raises(TaskOwnedElsewhere, match="web-2"):
        await world.cancel("orphan", storage)

    assert await world.status("orphan") is TaskStatus.PENDING


async def test_a_claim_lost_every_time_gives_up(world: World) -> None:
    class Contended(MemoryTaskStorage):
        async def claim(self, task_id: str, owner: str, expected_owner: str | None) -> bool:
            return False

    storage = Contended(clock=world.clock)
    world.storage = storage
    await world.stored("hot", owner=None)

    with pytest.raises(TaskOwnedElsewhere, match="another instance"):
        await world.cancel("hot", storage)


async def test_the_lease_is_released_even_when_refused(world: World) -> None:
    with pytest.raises(TaskNotFound):
        await world.cancel("nope")
    assert await world.storage.live_instances(world.clock.now()) == frozenset()
