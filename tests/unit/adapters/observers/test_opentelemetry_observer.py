"""OpenTelemetryObserver's options, and its span wrapper, with the real SDK."""

from __future__ import annotations

import contextvars
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import fastapi_taskflow
from fastapi_taskflow import OpenTelemetryObserver, TaskManager, TaskObserver
from fastapi_taskflow.adapters.observers.opentelemetry_span import attribute_value
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.tracing import AttemptOutcome, TaskTracer


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider()


def exported(provider: TracerProvider) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def record(**fields: object) -> TaskRecord:
    return TaskRecord(
        task_id="t-1",
        func_name="send_email",
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        **fields,  # type: ignore[arg-type]
    )


def test_it_is_a_public_observer_that_traces() -> None:
    assert "OpenTelemetryObserver" in fastapi_taskflow.__all__
    observer = OpenTelemetryObserver()
    assert isinstance(observer, TaskObserver)
    assert isinstance(observer, TaskTracer)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("taskflow {function}", "unknown field 'function'; available: func_name, queue"),
        ("taskflow {func_name", "not a valid format string"),
        ("{0}", "not a valid format string"),
        ("", "non-empty string"),
    ],
)
def test_a_bad_span_name_fails_at_construction(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenTelemetryObserver(span_name=template)


def test_new_trace_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="new_trace must be True or False"):
        OpenTelemetryObserver(new_trace="yes")  # type: ignore[arg-type]


def test_a_task_manager_accepts_one_tracing_observer_only(provider: TracerProvider) -> None:
    with pytest.raises(ValueError, match="at most one tracing observer"):
        TaskManager(
            loggers=[
                OpenTelemetryObserver(tracer_provider=provider),
                OpenTelemetryObserver(tracer_provider=provider),
            ]
        )


def test_span_names_may_use_the_queue_source_and_executor(provider: TracerProvider) -> None:
    exporter = exported(provider)
    observer = OpenTelemetryObserver(
        tracer_provider=provider, span_name="{source}/{queue}/{executor}/{func_name}"
    )
    span = observer.start_attempt(record(), contextvars.Context())
    span.end(AttemptOutcome.SUCCESS)
    [finished] = exporter.get_finished_spans()
    assert finished.name == "manual/default//send_email"


def test_the_trace_parent_is_that_of_the_current_span(provider: TracerProvider) -> None:
    observer = OpenTelemetryObserver(tracer_provider=provider)
    assert observer.current_trace_parent() is None
    with provider.get_tracer("test").start_as_current_span("request") as request:
        value = observer.current_trace_parent()
    ids = request.get_span_context()
    assert value == f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"


def test_the_span_is_current_in_the_given_context_only(provider: TracerProvider) -> None:
    observer = OpenTelemetryObserver(tracer_provider=provider)
    context = contextvars.Context()
    span = observer.start_attempt(record(), context)
    assert context.run(trace.get_current_span) is span.span
    assert trace.get_current_span() is not span.span
    span.end(AttemptOutcome.SUCCESS)


def test_the_link_comes_from_the_stored_trace_parent_alone(provider: TracerProvider) -> None:
    # As for a task recovered from storage: the enqueuing context is gone, the record remains.
    exporter = exported(provider)
    observer = OpenTelemetryObserver(tracer_provider=provider)
    stored = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    recovered = record(provenance=Provenance(trace_parent=stored))
    observer.start_attempt(recovered, contextvars.Context()).end(AttemptOutcome.SUCCESS)
    [finished] = exporter.get_finished_spans()
    [link] = finished.links
    assert (link.context.trace_id, link.context.span_id) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
    )
    assert finished.parent is None
    assert finished.context is not None
    assert finished.context.trace_id != link.context.trace_id


def test_a_malformed_stored_trace_parent_gives_no_link(provider: TracerProvider) -> None:
    exporter = exported(provider)
    observer = OpenTelemetryObserver(tracer_provider=provider)
    broken = record(provenance=Provenance(trace_parent="00-not-a-trace-01"))
    observer.start_attempt(broken, contextvars.Context()).end(AttemptOutcome.SUCCESS)
    [finished] = exporter.get_finished_spans()
    assert finished.links == ()


def test_a_span_ends_once_and_ignores_lines_logged_after_it_ended(
    provider: TracerProvider,
) -> None:
    exporter = exported(provider)
    observer = OpenTelemetryObserver(tracer_provider=provider)
    span = observer.start_attempt(record(), contextvars.Context())
    span.log("info", "before", {})
    span.end(AttemptOutcome.CANCELLED)
    span.log("info", "after", {})  # a cancelled thread task still running
    span.end(AttemptOutcome.SUCCESS)
    [finished] = exporter.get_finished_spans()
    assert [event.name for event in finished.events] == ["before"]
    assert (finished.attributes or {})["taskflow.status"] == "cancelled"


def test_a_logged_line_keeps_its_own_timestamp(provider: TracerProvider) -> None:
    exporter = exported(provider)
    observer = OpenTelemetryObserver(tracer_provider=provider)
    span = observer.start_attempt(record(), contextvars.Context())
    written = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    span.log("error", "disk full", {"path": "exports/march.csv"}, written)
    span.end(AttemptOutcome.SUCCESS)
    [event] = exporter.get_finished_spans()[0].events
    assert event.timestamp == int(written.timestamp()) * 10**9 + 123456 * 1000
    assert dict(event.attributes or {}) == {
        "taskflow.log.level": "error",
        "taskflow.log.path": "exports/march.csv",
    }


def test_extra_values_become_attributes_or_their_repr() -> None:
    assert attribute_value("a") == "a"
    assert attribute_value(3) == 3
    assert attribute_value(True) is True
    assert attribute_value([1, 2]) == [1, 2]
    assert attribute_value(("a", "b")) == ["a", "b"]
    assert attribute_value([1, "a"]) == "[1, 'a']"
    assert attribute_value({"k": 1}) == "{'k': 1}"
    assert attribute_value(None) == "None"


def test_without_the_opentelemetry_api_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    from fastapi_taskflow import OpenTelemetryObserver\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert 'pip install "fastapi-taskflow[opentelemetry]"' in output
