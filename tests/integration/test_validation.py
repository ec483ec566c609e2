"""Bad task options fail at the earliest point: decoration time, or the ``add_task`` call."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration


def resize_image(path: str) -> None:
    """A plain function; some tests register it, one deliberately does not."""
    RESIZED.append(path)


RESIZED: list[str] = []


async def fetch_page(url: str) -> None:
    return None


@pytest.fixture
def tm() -> TaskManager:
    return TaskManager()


def test_an_unknown_executor_is_refused_at_decoration_listing_the_valid_ones(
    tm: TaskManager,
) -> None:
    with pytest.raises(ValueError, match="gpu") as raised:
        tm.task(executor="gpu")

    message = str(raised.value)
    for valid in ("async", "thread", "process"):
        assert repr(valid) in message


def test_the_async_executor_is_refused_for_a_plain_function(tm: TaskManager) -> None:
    with pytest.raises(ValueError, match="resize_image"):
        tm.task(executor="async")(resize_image)

    assert "resize_image" not in tm.registry


def test_the_thread_executor_is_refused_for_a_coroutine_function(tm: TaskManager) -> None:
    with pytest.raises(ValueError, match="coroutine"):
        tm.task(executor="thread")(fetch_page)

    assert "fetch_page" not in tm.registry


@pytest.mark.parametrize(
    ("option", "value"),
    [("retries", -1), ("delay", -1), ("delay", float("nan")), ("backoff", 0)],
)
def test_invalid_retry_options_are_refused_before_the_function_is_decorated(
    tm: TaskManager, option: str, value: float
) -> None:
    with pytest.raises(ValueError, match=option):
        tm.task(**{option: value})


async def test_non_string_tag_values_are_refused_by_add_task_in_the_route(
    tm: TaskManager,
) -> None:
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    job = tm.task()(resize_image)
    errors: list[Exception] = []

    @app.post("/resize")
    async def route(background_tasks: BackgroundTasks) -> JSONResponse:
        bad_tags: Any = {"a": 1}
        try:
            background_tasks.add_task(job, "a.png", tags=bad_tags)
        except ValueError as exc:
            errors.append(exc)
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"detail": "accepted"})

    async with serve(app) as client:
        response = await client.post("/resize")
        listed = (await client.get("/tasks")).json()

    assert response.status_code == 400
    assert len(errors) == 1
    assert "tags" in str(errors[0])
    assert listed == []


async def test_an_unregistered_function_runs_once_under_its_qualified_name(
    tm: TaskManager,
) -> None:
    """``add_task`` accepts any callable, as FastAPI's does: an undecorated function runs once
    with default options (no retries), and is recorded as ``module.qualname``."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)
    RESIZED.clear()

    @app.post("/resize")
    async def route(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(resize_image, "b.png")}

    async with serve(app) as client:
        task_id = (await client.post("/resize")).json()["task_id"]
        record = await wait_for_status(client, task_id)

    assert RESIZED == ["b.png"]
    assert record["func_name"] == f"{resize_image.__module__}.{resize_image.__qualname__}"
    assert record["retries_used"] == 0
    assert "resize_image" not in tm.registry  # not listed among the registered tasks
