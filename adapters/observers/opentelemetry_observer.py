"""An observer that traces every task attempt with OpenTelemetry."""

from __future__ import annotations

import contextvars
from importlib import metadata
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "OpenTelemetryObserver needs the OpenTelemetry API: "
        'pip install "fastapi-taskflow[opentelemetry]"'
    ) from exc

from fastapi_taskflow.adapters.observers.opentelemetry_span import OpenTelemetrySpan
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.observers import TaskObserver

#: The fields a ``span_name`` format may use.
SPAN_NAME_FIELDS = ("func_name", "queue", "source", "executor")

_W3C = TraceContextTextMapPropagator()


class OpenTelemetryObserver(TaskObserver):
    """Opens an OpenTelemetry span for every attempt of every task.

    The span is current while the task's function runs, so spans your task code creates (and
    those of instrumented libraries it calls: HTTP clients, database drivers) become its
    children, in async and thread tasks alike. For process tasks the span is recorded in the
    application's process around the call.

    Each span is named ``taskflow <func_name>`` (see ``span_name``), has kind ``CONSUMER``
    and these attributes: ``taskflow.task_id``, ``taskflow.function``, ``taskflow.attempt``,
    ``taskflow.queue``, ``taskflow.source``, ``taskflow.executor``, ``taskflow.request_id``
    (when the task came from a request), one ``taskflow.tag.<key>`` per tag and, once the
    attempt is over, ``taskflow.status``: ``success``, ``retrying``, ``failed``,
    ``cancelled`` or ``interrupted``. A failed attempt records its exception and has an error
    status. ``task_log()`` lines become span events.

    When a task is enqueued, the span current at that moment (the request's span, typically)
    is stored with the task as a W3C ``traceparent``; every attempt span links to it, even
    after a restart. By default each attempt starts a new trace with that link, because the
    request has usually ended long before the task runs; ``new_trace=False`` makes attempts
    children of the enqueuing span instead.

    Args:
        tracer_provider: Where spans go. ``None`` uses the global provider (the one
            ``opentelemetry.trace.set_tracer_provider()`` installed, looked up at each span,
            so it may be set after this observer is created).
        span_name: A ``str.format`` template for span names, with the fields ``func_name``,
            ``queue``, ``source`` and ``executor``.
        new_trace: ``True`` (default): each attempt is the root of a new trace, linked to the
            enqueuing span. ``False``: each attempt is a child of the enqueuing span (in the
            same trace); tasks enqueued with no span current still start a new trace.

    Raises:
        ValueError: ``span_name`` uses an unknown field or is not a valid template.

    Example::

        from opentelemetry.sdk.trace import TracerProvider

        task_manager = TaskManager(
            loggers=[OpenTelemetryObserver(tracer_provider=TracerProvider())]
        )
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        span_name: str = "taskflow {func_name}",
        new_trace: bool = True,
    ) -> None:
        _check_span_name(span_name)
        if not isinstance(new_trace, bool):
            raise ValueError(f"new_trace must be True or False, got {new_trace!r}")
        self.span_name = span_name
        self.new_trace = new_trace
        self._tracer = trace.get_tracer(
            "fastapi_taskflow", _our_version(), tracer_provider=tracer_provider
        )

    def current_trace_parent(self) -> str | None:
        """The W3C ``traceparent`` of the current span, or ``None`` when there is none."""
        if not trace.get_current_span().get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        return carrier.get("traceparent")

    def start_attempt(self, record: TaskRecord, context: contextvars.Context) -> OpenTelemetrySpan:
        """Start the span of ``record``'s current attempt and make it current in ``context``."""
        enqueued_by = _span_context(record)
        links: list[trace.Link] = []
        parent = otel_context.Context()  # empty: the span is a root
        if enqueued_by is not None:
            if self.new_trace:
                links.append(trace.Link(enqueued_by))
            else:
                parent = trace.set_span_in_context(trace.NonRecordingSpan(enqueued_by))
        span = self._tracer.start_span(
            self.span_name.format_map(_name_fields(record)),
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=_attributes(record),
            links=links,
        )
        # ``context`` is the attempt's own copy: the attachment dies with it, no detach needed.
        context.run(otel_context.attach, trace.set_span_in_context(span))
        return OpenTelemetrySpan(span)


def _span_context(record: TaskRecord) -> trace.SpanContext | None:
    trace_parent = record.provenance.trace_parent if record.provenance else None
    if not trace_parent:
        return None
    extracted = _W3C.extract({"traceparent": trace_parent})
    span_context = trace.get_current_span(extracted).get_span_context()
    return span_context if span_context.is_valid else None


def _name_fields(record: TaskRecord) -> dict[str, str]:
    executor = record.executor.value if record.executor is not None else ""
    return {
        "func_name": record.func_name,
        "queue": record.queue,
        "source": record.source,
        "executor": executor,
    }


def _attributes(record: TaskRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "taskflow.task_id": record.task_id,
        "taskflow.function": record.func_name,
        "taskflow.attempt": record.attempt,
        "taskflow.queue": record.queue,
        "taskflow.source": record.source,
    }
    if record.executor is not None:
        attributes["taskflow.executor"] = record.executor.value
    if record.provenance is not None and record.provenance.request_id is not None:
        attributes["taskflow.request_id"] = record.provenance.request_id
    for key, value in record.tags.items():
        attributes[f"taskflow.tag.{key}"] = value
    return attributes


def _check_span_name(template: str) -> None:
    if not isinstance(template, str) or not template:
        raise ValueError(f"span_name must be a non-empty string, got {template!r}")
    sample = dict.fromkeys(SPAN_NAME_FIELDS, "x")
    try:
        template.format_map(sample)
    except KeyError as exc:
        raise ValueError(
            f"span_name {template!r} uses the unknown field {exc}; "
            f"available: {', '.join(SPAN_NAME_FIELDS)}"
        ) from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"span_name {template!r} is not a valid format string: {exc}") from None


def _our_version() -> str | None:
    try:
        return metadata.version("fastapi-taskflow")
    except metadata.PackageNotFoundError:
        return None
