"""While storage is down, accepted tasks keep running; past the backlog limit, new ones get 503."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from dependency_injector import providers
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager
from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.domain.task import TaskRecord

from .conftest import PATIENCE, serve, wait_until

pytestmark = pytest.mark.integration


class UnreachableStore(MemoryTaskStorage):
    """A durable store whose writes fail while ``down`` is set, as a database being restarted."""

    durable = True

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def save(self, records: Sequence[TaskRecord]) -> None:
        if self.down:
            raise ConnectionError("connection refused")
        await super().save(records)


async def test_new_tasks_get_503_past_the_backlog_and_accepted_ones_are_stored_later() -> None:
    store = UnreachableStore()
    manager = TaskManager(max_storage_backlog=3)
    manager.container.storage.override(providers.Object(store))
    app = FastAPI()
    TaskAdmin(app, manager, auto_install=True)
    ran: list[int] = []

    @manager.task()
    async def ship(order: int) -> None:
        ran.append(order)

    @app.post("/orders/{order}")
    def order(order: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(ship, order)}

    async with serve(app) as client:
        store.down = True
        accepted = [(await client.post(f"/orders/{n}")).json()["task_id"] for n in range(3)]
        await wait_until(lambda: len(ran) == 3, "the accepted tasks to run")

        refused = await client.post("/orders/99")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert "waiting to be written to storage" in refused.json()["detail"]

        store.down = False
        await asyncio.wait_for(manager.service.flush(), PATIENCE)
        later = await client.post("/orders/4")
        assert later.status_code == 200

    for task_id in accepted:
        stored = await store.get(task_id)
        assert stored is not None and stored.status.value == "success"
    assert sorted(ran) == [0, 1, 2, 4]


async def test_an_app_may_answer_a_full_backlog_its_own_way() -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from fastapi_taskflow import StorageBacklogFull

    app = FastAPI()

    @app.exception_handler(StorageBacklogFull)
    async def busy(_request: Request, _exc: StorageBacklogFull) -> JSONResponse:
        return JSONResponse({"busy": True}, status_code=429)

    manager = TaskManager()
    manager.init_app(app)

    assert app.exception_handlers[StorageBacklogFull] is busy
