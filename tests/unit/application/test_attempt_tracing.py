"""The runner traces each attempt through the tracer port; the enqueuer records the trace parent.

A fake tracer stands in for OpenTelemetry: it keeps what it was told and makes its span
"current" through a context variable, as a real tracer would in the attempt's context.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import pytest

from fastapi_taskflow.adapters.observers import LoggerChain
from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.application.task_log import task_log
from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.container import build_tracing
from fastapi_taskflow.ports.observers import TaskObserver
from fastapi_taskflow.ports.tracing import AttemptOutcome, TaskTracer

from .conftest import Harness, wait_for

MakeHarness = Callable[..., Awaitable[Harness]]

REQUEST_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

#: The fake tracer's idea of "the current span", like OpenTelemetry's context.
current_span: contextvars.ContextVar[FakeSpan | None] = contextvars.ContextVar(
    "fake_current_span", default=None
)


class FakeSpan:
    def __init__(self, record: TaskRecord) -> None:
        self.task_id = record.task_id
        self.attempt = record.attempt
        self.trace_parent = record.provenance.trace_parent if record.provenance else None
        self.events: list[tuple[LogLevel, str, dict[str, Any], datetime | None]] = []
        self.outcome: AttemptOutcome | None = None
        self.error: BaseException | None = None
        self.ended = threading.Event()

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        self.events.append((level, message, dict(extra), timestamp))

    def end(self, outcome: AttemptOutcome, error: BaseException | None = None) -> None:
        assert self.outcome is None, "a span ends once"
        self.outcome = outcome
        self.error = error
        self.ended.set()


class FakeTracer(TaskObserver):
    def __init__(self) -> None:
        self.spans: list[FakeSpan] = []

    def current_trace_parent(self) -> str | None:
        span = current_span.get()
        if span is not None:
            return f"00-{'1' * 32}-{span.task_id[:16]:0>16}-01"
        return request_trace.get()

    def start_attempt(self, record: TaskRecord, context: contextvars.Context) -> FakeSpan:
        span = FakeSpan(record)
        context.run(current_span.set, span)
        self.spans.append(span)
        return span


#: What the fake tracer reports as the enqueuing code's span when no task span is current.
request_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fake_request_trace", default=None
)


class BrokenTracer(TaskObserver):
    def current_trace_parent(self) -> str | None:
        raise RuntimeError("tracer down")

    def start_attempt(self, record: TaskRecord, context: contextvars.Context) -> FakeSpan:
        raise RuntimeError("tracer down")


def spans_of(tracer: FakeTracer, task_id: str) -> list[FakeSpan]:
    return [span for span in tracer.spans if span.task_id == task_id]


async def test_each_attempt_gets_a_span_that_ends_with_its_outcome(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])
    calls: list[int] = []

    async def charge_card() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"gateway timeout {len(calls)}")

    harness.register(charge_card, retries=3, delay=60)
    record = await harness.run(charge_card)

    assert record.status is TaskStatus.SUCCESS
    spans = spans_of(tracer, record.task_id)
    assert [span.attempt for span in spans] == [1, 2, 3]
    assert [span.outcome for span in spans] == [
        AttemptOutcome.RETRYING,
        AttemptOutcome.RETRYING,
        AttemptOutcome.SUCCESS,
    ]
    assert [str(span.error) for span in spans[:2]] == ["gateway timeout 1", "gateway timeout 2"]
    assert isinstance(spans[0].error, ConnectionError)
    assert spans[2].error is None


async def test_the_last_failed_attempt_ends_as_failed_with_its_exception(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])

    def send_email(address: str) -> None:
        raise ValueError(f"bad address {address}")

    harness.register(send_email, retries=1)
    record = await harness.run(send_email, "nobody")

    assert record.status is TaskStatus.FAILED
    spans = spans_of(tracer, record.task_id)
    assert [span.outcome for span in spans] == [AttemptOutcome.RETRYING, AttemptOutcome.FAILED]
    assert isinstance(spans[1].error, ValueError)


@pytest.mark.parametrize("kind", ["async", "thread"])
async def test_the_attempt_span_is_current_in_the_task_code_only(
    make_harness: MakeHarness, kind: str
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])
    seen: list[FakeSpan | None] = []

    async def async_job() -> None:
        seen.append(current_span.get())
        if len(seen) == 1:
            raise TimeoutError("first try")

    def thread_job() -> None:
        seen.append(current_span.get())
        if len(seen) == 1:
            raise TimeoutError("first try")

    job = async_job if kind == "async" else thread_job
    harness.register(job, retries=1)
    record = await harness.run(job)

    assert record.status is TaskStatus.SUCCESS
    assert seen == spans_of(tracer, record.task_id)  # each attempt saw its own span
    assert current_span.get() is None  # nothing leaked into the caller's context


async def test_log_lines_land_on_the_span_of_the_attempt_that_wrote_them(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])
    attempts: list[int] = []

    def import_rows(batch: int) -> None:
        attempts.append(1)
        task_log("importing", batch=batch, attempt=len(attempts))
        if len(attempts) == 1:
            task_log("database busy", level="warning")
            raise ConnectionError("busy")

    harness.register(import_rows, retries=1)
    record = await harness.run(import_rows, 3)

    first, second = spans_of(tracer, record.task_id)
    assert [(level, message, extra) for level, message, extra, _ in first.events] == [
        ("info", "importing", {"batch": 3, "attempt": 1}),
        ("warning", "database busy", {}),
    ]
    assert [(level, message, extra) for level, message, extra, _ in second.events] == [
        ("info", "importing", {"batch": 3, "attempt": 2}),
    ]
    # The lines are still on the record and go to observers as before.
    assert sum("importing" in line for line in record.logs) == 2


async def test_a_cancelled_attempt_ends_as_cancelled(make_harness: MakeHarness) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])

    async def long_job() -> None:
        await asyncio.Event().wait()

    harness.register(long_job)
    task_id = harness.start(long_job)
    await wait_for(lambda: harness.record(task_id).status is TaskStatus.RUNNING, "start")
    await harness.service.cancel(task_id)

    [span] = spans_of(tracer, task_id)
    assert span.outcome is AttemptOutcome.CANCELLED
    assert span.error is None


async def test_attempts_stopped_by_shutdown_end_as_interrupted(make_harness: MakeHarness) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])

    async def report() -> None:
        await asyncio.Event().wait()

    harness.register(report, requeue_on_interrupt=True)
    task_id = harness.start(report)
    await wait_for(lambda: harness.record(task_id).status is TaskStatus.RUNNING, "start")
    await harness.service.shutdown()

    [span] = spans_of(tracer, task_id)
    assert span.outcome is AttemptOutcome.INTERRUPTED


async def test_a_sync_task_cancelled_mid_call_ends_its_span_at_once(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])
    inside = threading.Event()
    release = threading.Event()

    def blocking_io() -> None:
        inside.set()
        release.wait(10)

    harness.register(blocking_io)
    task_id = harness.start(blocking_io)
    await wait_for(inside.is_set, "the thread to start")
    await harness.service.cancel(task_id)
    [span] = spans_of(tracer, task_id)
    assert span.outcome is AttemptOutcome.CANCELLED
    release.set()


async def test_enqueueing_records_the_current_trace_parent(make_harness: MakeHarness) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])

    async def job() -> None:
        return None

    harness.register(job)
    outside = harness.service.enqueue(job, (), {}).record
    token = request_trace.set(REQUEST_TRACE)
    try:
        bare = harness.service.enqueue(job, (), {}).record
        from_request = harness.service.enqueue(
            job,
            (),
            {},
            EnqueueOptions(provenance=Provenance(route="/orders", method="POST")),
        ).record
        explicit = harness.service.enqueue(
            job, (), {}, EnqueueOptions(provenance=Provenance(trace_parent="00-given"))
        ).record
    finally:
        request_trace.reset(token)

    assert outside.provenance is None
    assert bare.provenance == Provenance(trace_parent=REQUEST_TRACE)
    assert from_request.provenance == Provenance(
        route="/orders", method="POST", trace_parent=REQUEST_TRACE
    )
    assert explicit.provenance == Provenance(trace_parent="00-given")


async def test_spans_carry_the_stored_trace_parent_even_without_the_enqueuing_context(
    make_harness: MakeHarness,
) -> None:
    # A task recovered from storage has no in-process context left: only its provenance.
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])

    async def job() -> None:
        return None

    harness.register(job)
    token = request_trace.set(REQUEST_TRACE)
    try:
        task_id = harness.service.enqueue(job, (), {}).task_id
    finally:
        request_trace.reset(token)
    await harness.service.execute(task_id, None)

    [span] = spans_of(tracer, task_id)
    assert span.trace_parent == REQUEST_TRACE
    assert span.outcome is AttemptOutcome.SUCCESS


async def test_a_task_enqueued_inside_a_task_records_the_attempt_span(
    make_harness: MakeHarness,
) -> None:
    tracer = FakeTracer()
    harness = await make_harness(loggers=[tracer])
    children: list[str] = []

    async def child() -> None:
        return None

    async def parent() -> None:
        children.append(harness.service.enqueue(child, (), {}).task_id)

    harness.register(child)
    harness.register(parent)
    record = await harness.run(parent)

    [parent_span] = spans_of(tracer, record.task_id)
    child_record = harness.record(children[0])
    assert child_record.provenance is not None
    assert child_record.provenance.trace_parent == f"00-{'1' * 32}-{record.task_id[:16]}-01"
    assert parent_span.outcome is AttemptOutcome.SUCCESS


async def test_a_failing_tracer_never_affects_the_task(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(loggers=[BrokenTracer()])

    def job() -> str:
        task_log("still logged")
        return "done"

    harness.register(job)
    with caplog.at_level(logging.ERROR, logger="fastapi_taskflow.observers"):
        record = await harness.run(job)

    assert record.status is TaskStatus.SUCCESS
    assert record.provenance is None
    assert any("still logged" in line for line in record.logs)
    messages = [r.getMessage() for r in caplog.records]
    assert "tracer BrokenTracer failed to read the current span" in messages
    assert "tracer BrokenTracer failed to start a span" in messages


async def test_a_span_that_fails_to_log_or_end_is_contained(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    class FragileSpan(FakeSpan):
        def log(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("exporter full")

        def end(self, outcome: AttemptOutcome, error: BaseException | None = None) -> None:
            raise RuntimeError("exporter full")

    class FragileTracer(FakeTracer):
        def start_attempt(self, record: TaskRecord, context: contextvars.Context) -> FakeSpan:
            return FragileSpan(record)

    harness = await make_harness(loggers=[FragileTracer()])

    async def job() -> None:
        task_log("hello")

    harness.register(job)
    with caplog.at_level(logging.ERROR, logger="fastapi_taskflow.observers"):
        record = await harness.run(job)

    assert record.status is TaskStatus.SUCCESS
    messages = [r.getMessage() for r in caplog.records]
    assert "tracer FragileTracer failed to record a log line" in messages
    assert "tracer FragileTracer failed to end a span" in messages


async def test_an_unusable_trace_parent_is_ignored(make_harness: MakeHarness) -> None:
    class VerboseTracer(FakeTracer):
        def current_trace_parent(self) -> str | None:
            return "x" * 300

    harness = await make_harness(loggers=[VerboseTracer()])

    async def job() -> None:
        return None

    harness.register(job)
    record = harness.service.enqueue(job, (), {}).record
    assert record.provenance is None


def test_one_tracing_observer_at_most() -> None:
    assert isinstance(FakeTracer(), TaskTracer)
    assert build_tracing([]).tracer is None
    tracer = FakeTracer()
    assert build_tracing([TaskObserver(), tracer]).tracer is tracer
    assert build_tracing([LoggerChain([LoggerChain([tracer])])]).tracer is tracer
    with pytest.raises(ValueError, match="at most one tracing observer, got 2"):
        build_tracing([FakeTracer(), FakeTracer()])
    with pytest.raises(ValueError, match="at most one tracing observer, got 2"):
        build_tracing([FakeTracer(), LoggerChain([FakeTracer()])])
