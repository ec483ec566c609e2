"""The container the testing kit lays over a ``TaskManager``'s own for the test's duration."""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.entrypoints.container import TaskflowContainer
from fastapi_taskflow.entrypoints.testing.kit_service import KitTaskService, RecordingChanges

#: Finished tasks the kit keeps in memory: a test wants to see every task it caused.
KIT_RECENT_LIMIT = 1_000_000

#: Providers whose objects the kit shares with the manager instead of building its own: the
#: registered functions and the executors they run on, the user's observers, and the
#: argument cipher and serializer, so tasks behave as configured. Stopping the kit's service
#: releases the pools it started; the executors make new ones when next used.
SHARED = ("registry", "executors", "observer", "cipher", "serializer", "instance_id")


def kit_container(original: TaskflowContainer, clock: FakeClock) -> TaskflowContainer:
    """A container wired like ``original`` but on ``memory://`` storage, an in-process
    broadcast and ``clock``; every other part is new, so nothing built before the test
    (and bound to the real storage or clock) is reused.

    Dependency-injector singletons keep what they were built with, and ``TaskManager``
    builds storage and the service early; overriding single providers of ``original``
    would leave those stale. Overriding the whole container with this one (and removing
    the override afterwards) swaps every provider at once and leaves the original
    singletons untouched for when the test ends.
    """
    config: dict[str, Any] = dict(original.config())
    real_storage = original.storage()
    config.update(
        storage_url="memory://",
        storage_options={},
        recent_limit=max(int(config.get("recent_limit") or 0), KIT_RECENT_LIMIT),
        retention_days=original.service().retention_days,
    )
    kit = TaskflowContainer()
    kit.config.from_dict(config)
    for name in SHARED:
        kit.providers[name].override(providers.Object(original.providers[name]()))
    kit.clock.override(providers.Object(clock))
    kit.storage.override(providers.Object(MemoryTaskStorage(clock=clock)))
    if real_storage.durable:
        # A durable store refuses arguments it cannot serialise at add_task() time; keep that
        # check, so a test catches what production would reject.
        kit.enqueuer.add_kwargs(storage_serializer=kit.serializer)
    kit.service.set_provides(KitTaskService)
    kit.recorder.set_provides(RecordingChanges)
    return kit
