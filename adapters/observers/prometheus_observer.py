"""An observer that turns task events into Prometheus metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

try:
    from prometheus_client import REGISTRY, CollectorRegistry
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError(
        'PrometheusObserver needs the prometheus-client package: pip install "fastapi-taskflow'
        '[prometheus]"'
    ) from None

from fastapi_taskflow.adapters.observers.prometheus_endpoint import MetricsEndpoint
from fastapi_taskflow.adapters.observers.prometheus_metrics import (
    DEFAULT_DURATION_BUCKETS,
    TaskMetrics,
)
from fastapi_taskflow.domain.events import LifecycleEvent
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.ports.live_tasks import LiveTasks
from fastapi_taskflow.ports.observers import TaskObserver


class PrometheusObserver(TaskObserver):
    """Counts task lifecycle transitions, times tasks and reports queue depth to Prometheus.

    Pass it to the manager and serve its registry::

        metrics = PrometheusObserver()
        task_manager = TaskManager(loggers=[metrics])
        app.add_route("/metrics", metrics.route)

    The metrics (``taskflow`` being the default namespace):

    - ``taskflow_tasks_queued_total{function, queue}``
    - ``taskflow_tasks_started_total{function, queue}``
    - ``taskflow_task_retries_total{function, queue}``
    - ``taskflow_tasks_finished_total{function, queue, status}``
    - ``taskflow_task_duration_seconds{function, queue, status}`` (histogram)
    - ``taskflow_queue_depth{queue, status}``: pending and running tasks of this process,
      read from the manager's working set at scrape time, so it is right even when events
      were dropped under overload.

    Task ids and tags never become labels: the series stay bounded by the registered task
    names and queues.

    One observer serves one ``TaskManager``. Two observers cannot share a registry under the
    same namespace: the second one raises ``ValueError``; give each its own
    ``CollectorRegistry`` (and route), or its own namespace.

    Args:
        registry: Where the metrics are registered; default: ``prometheus_client``'s global
            registry, which also carries the process and platform metrics.
        namespace: The prefix of every metric name.
        buckets: Upper bounds of the duration histogram, in seconds (``+Inf`` is added).

    Raises:
        TypeError: ``registry`` is not a ``prometheus_client.CollectorRegistry``.
        ValueError: A bad namespace or buckets, or the registry already holds metrics with
            these names.
    """

    #: The default upper bounds of the duration histogram, from 10 ms to an hour, in seconds.
    DEFAULT_BUCKETS: tuple[float, ...] = DEFAULT_DURATION_BUCKETS

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        namespace: str = "taskflow",
        buckets: Sequence[float] = DEFAULT_DURATION_BUCKETS,
    ) -> None:
        if registry is None:
            registry = REGISTRY
        elif not isinstance(registry, CollectorRegistry):
            raise TypeError(
                "registry must be a prometheus_client.CollectorRegistry, got "
                f"{type(registry).__name__}"
            )
        self._metrics = TaskMetrics(namespace, buckets)
        try:
            registry.register(self._metrics)
        except ValueError as exc:
            raise ValueError(
                f"the registry already has metrics named like {namespace}_*: another "
                "PrometheusObserver (or other code) registered them. Give each TaskManager's "
                "observer its own registry (registry=CollectorRegistry()) or its own "
                f"namespace. ({exc})"
            ) from None
        self._registry = registry
        self._route = MetricsEndpoint(registry)

    @property
    def registry(self) -> CollectorRegistry:
        """The registry holding the metrics."""
        return self._registry

    @property
    def namespace(self) -> str:
        """The prefix of every metric name."""
        return self._metrics.namespace

    @property
    def buckets(self) -> tuple[float, ...]:
        """Upper bounds of the duration histogram, in seconds (without ``+Inf``)."""
        return self._metrics.buckets

    @property
    def route(self) -> MetricsEndpoint:
        """An ASGI endpoint serving :attr:`registry`: ``app.add_route("/metrics", route)``."""
        return self._route

    @property
    def bound(self) -> bool:
        """Whether a task manager has bound its live tasks (the queue depth is reported)."""
        return self._metrics.live_source is not None

    def bind_live_tasks(self, source: LiveTasks) -> None:
        """Report the queue depth of ``source``; done by ``TaskManager`` when it is built.

        Raises:
            ValueError: The observer already reports on another manager.
        """
        self._metrics.bind(source)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Count the transition, and time the task when it has finished."""
        metrics = self._metrics
        function, queue = event.func_name, event.queue
        metrics.touch(function, queue)
        status = event.status
        if status is TaskStatus.PENDING:
            metrics.queued.labels(function, queue).inc()
        elif status is TaskStatus.RUNNING:
            # The running event of a retry carries the error of the attempt that failed.
            if event.error is None:
                metrics.started.labels(function, queue).inc()
            else:
                metrics.retries.labels(function, queue).inc()
        else:
            metrics.finished.labels(function, queue, status.value).inc()
            if event.duration is not None:
                metrics.duration.labels(function, queue, status.value).observe(event.duration)

    def unregister(self) -> None:
        """Remove the metrics from the registry, so a new observer may take the names (an
        application factory building a fresh app, for example). Safe to call twice."""
        with contextlib.suppress(KeyError):
            self._registry.unregister(self._metrics)

    def __repr__(self) -> str:
        return f"PrometheusObserver(namespace={self.namespace!r})"
