"""OpenTelemetry: a span per attempt, linked to the request that enqueued the task.

Every test gives the observer its own ``TracerProvider`` with an in-memory exporter; the
global provider is never touched.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import BackgroundTasks, FastAPI, Request, Response
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from fastapi_taskflow import OpenTelemetryObserver, TaskAdmin, TaskManager, TaskStatus, task_log

from .conftest import PATIENCE, serve, wait_for_event, wait_for_record, wait_for_status, wait_until

pytestmark = pytest.mark.integration


class Tracing:
    """A private tracer provider whose finished spans the test can read."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer: Tracer = self.provider.get_tracer("test-app")

    def observer(self, **options: object) -> OpenTelemetryObserver:
        return OpenTelemetryObserver(tracer_provider=self.provider, **options)  # type: ignore[arg-type]

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        found = self.exporter.get_finished_spans()
        return [span for span in found if name is None or span.name == name]

    def attempts(self, task_id: str) -> list[ReadableSpan]:
        spans = [
            span
            for span in self.exporter.get_finished_spans()
            if (span.attributes or {}).get("taskflow.task_id") == task_id
        ]
        return sorted(spans, key=lambda span: int((span.attributes or {})["taskflow.attempt"]))  # type: ignore[arg-type]

    async def wait_for_attempts(self, task_id: str, count: int) -> list[ReadableSpan]:
        await wait_until(lambda: len(self.attempts(task_id)) >= count, f"{count} spans")
        return self.attempts(task_id)


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    made = Tracing()
    yield made
    made.provider.shutdown()


def traced_app(tm: TaskManager, tracing: Tracing) -> FastAPI:
    """An app whose middleware opens a server span around each request, as instrumentation
    would, and answers with that span's ids."""
    app = FastAPI()
    TaskAdmin(app, tm, auto_install=True)

    @app.middleware("http")
    async def request_span(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        name = f"{request.method} {request.url.path}"
        with tracing.tracer.start_as_current_span(name, kind=SpanKind.SERVER) as span:
            response = await call_next(request)
            context = span.get_span_context()
            response.headers["x-trace-id"] = f"{context.trace_id:032x}"
            response.headers["x-span-id"] = f"{context.span_id:016x}"
            return response

    return app


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


async def test_every_attempt_is_a_span_with_its_outcome_and_a_link_to_the_request(
    tracing: Tracing,
) -> None:
    tm = TaskManager(loggers=[tracing.observer()])
    app = traced_app(tm, tracing)
    attempts: list[int] = []

    @tm.task(retries=2)
    async def charge_card(order_id: int) -> None:
        attempts.append(order_id)
        task_log("calling the gateway", level="debug", order_id=order_id, amount=12.5)
        if len(attempts) < 3:
            raise ConnectionError(f"gateway timeout #{len(attempts)}")

    @app.post("/orders/{order_id}")
    async def place_order(order_id: int, background_tasks: BackgroundTasks) -> dict[str, str]:
        task_id = background_tasks.add_task(charge_card, order_id, tags={"tenant": "acme"})
        return {"task_id": task_id}

    async with serve(app) as client:
        response = await client.post("/orders/7", headers={"X-Request-ID": "order-req-1"})
        task_id = response.json()["task_id"]
        await wait_for_status(client, task_id)
        spans = await tracing.wait_for_attempts(task_id, 3)

    request_trace, request_span = response.headers["x-trace-id"], response.headers["x-span-id"]
    assert [span.name for span in spans] == ["taskflow charge_card"] * 3
    assert [span.kind for span in spans] == [SpanKind.CONSUMER] * 3
    first = spans[0]
    assert dict(first.attributes or {}) == {
        "taskflow.task_id": task_id,
        "taskflow.function": "charge_card",
        "taskflow.attempt": 1,
        "taskflow.queue": "default",
        "taskflow.source": "manual",
        "taskflow.executor": "async",
        "taskflow.request_id": "order-req-1",
        "taskflow.tag.tenant": "acme",
        "taskflow.status": "retrying",
        "error.type": "ConnectionError",
    }
    assert [(span.attributes or {})["taskflow.status"] for span in spans] == [
        "retrying",
        "retrying",
        "success",
    ]
    assert [span.status.status_code for span in spans] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert first.status.description == "ConnectionError: gateway timeout #1"
    exception = next(event for event in first.events if event.name == "exception")
    assert (exception.attributes or {})["exception.type"] == "ConnectionError"
    assert (exception.attributes or {})["exception.message"] == "gateway timeout #1"
    assert "exception" not in [event.name for event in spans[2].events]

    for span in spans:
        # A new trace per attempt, linked to the request's span.
        assert span.parent is None
        assert hex_ids(span)[0] != request_trace
        [link] = span.links
        assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (
            request_trace,
            request_span,
        )
        [log] = [event for event in span.events if event.name == "calling the gateway"]
        assert dict(log.attributes or {}) == {
            "taskflow.log.level": "debug",
            "taskflow.log.order_id": 7,
            "taskflow.log.amount": 12.5,
        }

    record = await tm.get_task(task_id)
    assert record is not None and record.provenance is not None
    # The flags (last field) depend on the SDK: sampled, and in newer versions random ids.
    assert record.provenance.trace_parent.startswith(f"00-{request_trace}-{request_span}-")


@pytest.mark.parametrize("executor", ["async", "thread"])
async def test_spans_made_by_task_code_are_children_of_the_attempt_span(
    tracing: Tracing, executor: str
) -> None:
    tm = TaskManager(loggers=[tracing.observer()])
    app = traced_app(tm, tracing)

    async def async_work() -> None:
        with tracing.tracer.start_as_current_span("render pdf"):
            await asyncio.sleep(0)

    def thread_work() -> None:
        with tracing.tracer.start_as_current_span("render pdf"):
            pass

    work = tm.task(name="render_invoice")(async_work if executor == "async" else thread_work)

    @app.post("/invoices")
    def create_invoice(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(work)}

    async with serve(app) as client:
        task_id = (await client.post("/invoices")).json()["task_id"]
        await wait_for_status(client, task_id)
        [attempt] = await tracing.wait_for_attempts(task_id, 1)

    [child] = tracing.spans("render pdf")
    assert child.parent is not None
    assert (child.parent.trace_id, child.parent.span_id) == (
        attempt.context.trace_id,  # type: ignore[union-attr]
        attempt.context.span_id,  # type: ignore[union-attr]
    )
    assert (attempt.attributes or {})["taskflow.executor"] == executor


async def test_new_trace_false_makes_attempts_children_of_the_request_span(
    tracing: Tracing,
) -> None:
    tm = TaskManager(loggers=[tracing.observer(new_trace=False, span_name="job {func_name}")])
    app = traced_app(tm, tracing)

    @tm.task()
    def send_receipt() -> None:
        task_log("sent")

    @app.post("/receipts")
    def receipts(background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(send_receipt)}

    async with serve(app) as client:
        response = await client.post("/receipts")
        task_id = response.json()["task_id"]
        await wait_for_status(client, task_id)
        [attempt] = await tracing.wait_for_attempts(task_id, 1)

    assert attempt.name == "job send_receipt"
    assert attempt.links == ()
    assert attempt.parent is not None
    assert f"{attempt.parent.span_id:016x}" == response.headers["x-span-id"]
    assert hex_ids(attempt)[0] == response.headers["x-trace-id"]


async def test_a_task_enqueued_outside_any_span_starts_a_trace_without_links(
    tracing: Tracing,
) -> None:
    tm = TaskManager(loggers=[tracing.observer()])

    @tm.task()
    async def warm_cache() -> None:
        return None

    await tm.startup()
    try:
        task_id = tm.add_task(warm_cache)
        await wait_for_record(tm, task_id)
        [attempt] = await tracing.wait_for_attempts(task_id, 1)
        record = await tm.get_task(task_id)
    finally:
        await tm.shutdown()

    assert attempt.links == () and attempt.parent is None
    assert record is not None and record.provenance is None


async def test_a_task_enqueued_in_a_span_outside_requests_keeps_just_the_trace_parent(
    tracing: Tracing,
) -> None:
    tm = TaskManager(loggers=[tracing.observer()])

    @tm.task()
    async def nightly_export() -> None:
        return None

    await tm.startup()
    try:
        with tracing.tracer.start_as_current_span("cron script") as script:
            task_id = tm.add_task(nightly_export)
        await wait_for_record(tm, task_id)
        [attempt] = await tracing.wait_for_attempts(task_id, 1)
        record = await tm.get_task(task_id)
    finally:
        await tm.shutdown()

    assert record is not None and record.provenance is not None
    assert record.provenance.route is None and record.provenance.request_id is None
    context = script.get_span_context()
    assert record.provenance.trace_parent == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )
    [link] = attempt.links
    assert link.context.span_id == context.span_id


async def test_cancelled_and_interrupted_attempts_end_their_spans(tracing: Tracing) -> None:
    tm = TaskManager(loggers=[tracing.observer()])
    started = threading.Event()

    @tm.task()
    async def wait_forever(label: str) -> None:
        started.set()
        await asyncio.Event().wait()

    await tm.startup()
    try:
        cancelled = tm.add_task(wait_forever, "cancel me")
        await wait_for_event(started, "the task to start")
        await tm.cancel(cancelled)
        started.clear()
        interrupted = tm.add_task(wait_forever, "stop me")
        await wait_for_event(started, "the second task to start")
    finally:
        await tm.shutdown()

    [cancelled_span] = tracing.attempts(cancelled)
    [interrupted_span] = tracing.attempts(interrupted)
    assert (cancelled_span.attributes or {})["taskflow.status"] == "cancelled"
    assert cancelled_span.status.status_code is StatusCode.UNSET
    assert (interrupted_span.attributes or {})["taskflow.status"] == "interrupted"
    assert interrupted_span.status.status_code is StatusCode.ERROR
    assert "interrupted" in (interrupted_span.status.description or "")


@pytest.fixture(scope="module")
def worker_tasks() -> Iterator[ModuleType]:
    """Task functions importable by name here and in worker processes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("taskflow_integration_tasks")


async def test_a_process_task_is_traced_in_the_parent_with_the_workers_log_lines(
    tracing: Tracing, worker_tasks: ModuleType
) -> None:
    tm = TaskManager(loggers=[tracing.observer()], max_process_workers=1)
    count_primes = tm.task(executor="process")(worker_tasks.count_primes)
    refuse = tm.task(executor="process")(worker_tasks.refuse)

    await tm.startup()
    try:
        counted = tm.add_task(count_primes, 50)
        refused = tm.add_task(refuse, "no reason")
        await wait_for_record(tm, counted)
        await wait_for_record(tm, refused, (TaskStatus.FAILED,))
        [ok] = await tracing.wait_for_attempts(counted, 1)
        [failed] = await tracing.wait_for_attempts(refused, 1)
    finally:
        await tm.shutdown()

    assert (ok.attributes or {})["taskflow.executor"] == "process"
    logs = [event for event in ok.events if event.name.startswith(("counting", "found"))]
    assert [event.name.rsplit(" ", 1)[0] for event in logs] == [
        "counting primes below 50 in process",
        "found 15",
    ]
    assert logs[0].name.rsplit(" ", 1)[1] != str(os.getpid())  # written in the worker
    assert dict(logs[1].attributes or {}) == {
        "taskflow.log.level": "warning",
        "taskflow.log.count": 15,
    }
    # Replayed after the call, yet stamped when the worker wrote them: inside the span.
    assert ok.start_time is not None and ok.end_time is not None
    assert all(ok.start_time <= event.timestamp <= ok.end_time for event in logs)
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "PermissionError: refused: no reason"
    assert (failed.attributes or {})["taskflow.status"] == "failed"


#: What the restarted app's task did; its first run waits here until shutdown stops it.
_released: list[str] = []


def restart_app(tm: TaskManager, tracing: Tracing) -> FastAPI:
    app = traced_app(tm, tracing)

    @tm.task(requeue_on_interrupt=True)
    async def rebuild_index(name: str) -> None:
        if not _released:
            await asyncio.Event().wait()  # the first process stops before this finishes
        task_log(f"rebuilt {name}")

    @app.post("/indexes/{name}")
    async def rebuild(name: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        return {"task_id": background_tasks.add_task(rebuild_index, name, eager=True)}

    return app


async def test_a_task_recovered_after_a_restart_still_links_to_its_request(
    tracing: Tracing, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'tasks.db'}"
    _released.clear()

    first = TaskManager(storage_url=database, loggers=[tracing.observer()])
    async with serve(restart_app(first, tracing)) as client:
        response = await client.post("/indexes/products")
        task_id = response.json()["task_id"]
        await wait_for_status(client, task_id, ("running",))
    # The first process stopped mid-run; the task went back to pending in storage.
    [interrupted] = tracing.attempts(task_id)
    assert (interrupted.attributes or {})["taskflow.status"] == "interrupted"

    _released.append("go")
    second = TaskManager(storage_url=database, loggers=[tracing.observer()])
    async with serve(restart_app(second, tracing)) as client:
        await wait_for_status(client, task_id, timeout=PATIENCE)
        spans = await tracing.wait_for_attempts(task_id, 2)

    recovered = next(s for s in spans if (s.attributes or {})["taskflow.status"] == "success")
    [link] = recovered.links
    assert f"{link.context.trace_id:032x}" == response.headers["x-trace-id"]
    assert f"{link.context.span_id:016x}" == response.headers["x-span-id"]
    assert [event.name for event in recovered.events] == ["rebuilt products"]
