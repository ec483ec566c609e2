"""What task code sees: task_log(), get_task_context(), tags and context propagation."""

from __future__ import annotations

import contextvars
import logging

import pytest

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.application.task_log import get_task_context, task_log
from fastapi_taskflow.domain.context import TaskContext

from .conftest import Harness

pytestmark = pytest.mark.asyncio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


async def test_log_lines_reach_the_record_and_observers_with_tags_and_extras(
    harness: Harness,
) -> None:
    contexts: list[TaskContext | None] = []

    def import_rows(batch: int) -> None:
        contexts.append(get_task_context())
        task_log("importing", batch=batch)
        task_log("row skipped", level="warning", row=7)

    harness.register(import_rows)
    result = harness.service.enqueue(
        import_rows, (3,), {}, EnqueueOptions(tags={"tenant": "acme"})
    )
    await harness.service.execute(result.task_id)
    await harness.idle()

    record = harness.record(result.task_id)
    assert [line.split(" ", 1)[1] for line in record.logs] == [
        "importing batch=3",
        "[WARNING] row skipped row=7",
    ]
    events = harness.observer.log_events
    assert [(e.message, e.level, dict(e.extra)) for e in events] == [
        ("importing", "info", {"batch": 3}),
        ("row skipped", "warning", {"row": 7}),
    ]
    assert all(dict(e.tags) == {"tenant": "acme"} for e in events)
    assert contexts == [
        TaskContext(
            task_id=result.task_id, func_name="import_rows", attempt=1, tags={"tenant": "acme"}
        )
    ]


async def test_context_reports_the_attempt_number_in_async_tasks(harness: Harness) -> None:
    attempts: list[int] = []

    async def deliver() -> None:
        context = get_task_context()
        assert context is not None
        attempts.append(context.attempt)
        if context.attempt < 3:
            raise OSError("retry me")

    harness.register(deliver, retries=2)
    await harness.run(deliver)
    assert attempts == [1, 2, 3]


async def test_outside_a_task_task_log_goes_to_the_standard_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="fastapi_taskflow.task"):
        task_log("called directly", level="error", order=1)
    assert get_task_context() is None
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "called directly")
    ]


async def test_unknown_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        task_log("x", level="verbose")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_enqueuing_context_reaches_the_task(harness: Harness, kind: str) -> None:
    seen: list[str] = []

    def record() -> None:
        seen.append(request_id.get())

    async def record_async() -> None:
        record()

    audit = record if kind == "sync" else record_async
    harness.register(audit, name="audit")
    token = request_id.set(f"req-{kind}")
    try:
        result = harness.service.enqueue(audit, (), {})
        context = contextvars.copy_context()
    finally:
        request_id.reset(token)
    await harness.service.execute(result.task_id, context)
    assert seen == [f"req-{kind}"]
