"""The Prometheus metric families kept for tasks, exposed to a registry as one collector."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter as Tally
from collections.abc import Iterator, Sequence

from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from fastapi_taskflow.domain.status import TERMINAL_STATUSES, TaskStatus
from fastapi_taskflow.ports.live_tasks import LiveTasks, QueueNames

#: Upper bounds, in seconds, of the duration histogram: background work runs from a few
#: milliseconds (a cache refresh) to an hour (a report), so the buckets span that range.
DEFAULT_DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)

#: Statuses a task can end in, in the order their series are listed.
FINAL_STATUSES: tuple[str, ...] = tuple(
    status.value for status in TaskStatus if status in TERMINAL_STATUSES
)

#: The statuses the queue depth is reported for.
LIVE_STATUSES: tuple[str, ...] = (TaskStatus.PENDING.value, TaskStatus.RUNNING.value)

#: Every task record has a queue; tasks enqueued without naming one wait in this one.
DEFAULT_QUEUE = "default"

# Metric names may also hold colons, but those are reserved for recording rules.
_NAMESPACE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it can start a metric name, else raise ``ValueError``."""
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ValueError(
            "namespace must start with a letter or underscore and hold only letters, digits "
            f"and underscores (it starts every metric name), got {namespace!r}"
        )
    return namespace


def check_buckets(buckets: object) -> tuple[float, ...]:
    """Return ``buckets`` as a tuple if they are finite, positive and strictly increasing."""
    if isinstance(buckets, (str, bytes)) or not isinstance(buckets, Sequence):
        raise ValueError(f"buckets must be a sequence of numbers, got {buckets!r}")
    bounds: list[float] = []
    for bound in buckets:
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise ValueError(f"buckets must hold numbers of seconds, got {bound!r}")
        if not math.isfinite(bound) or bound <= 0:
            raise ValueError(
                f"each bucket must be a finite number of seconds > 0 (the +Inf bucket is "
                f"always added), got {bound!r}"
            )
        if bounds and bound <= bounds[-1]:
            raise ValueError(f"buckets must be strictly increasing, got {list(buckets)!r}")
        bounds.append(float(bound))
    if not bounds:
        raise ValueError("buckets must hold at least one upper bound")
    return tuple(bounds)


class TaskMetrics:
    """Counters and a duration histogram fed by lifecycle events, and a queue depth read
    from the live tasks whenever the registry is collected.

    Registered as a single collector, so it either joins a registry whole or not at all.

    Args:
        namespace: The prefix of every metric name.
        buckets: Upper bounds of the duration histogram, in seconds.
    """

    def __init__(self, namespace: str, buckets: Sequence[float]) -> None:
        self.namespace = check_namespace(namespace)
        self.buckets = check_buckets(buckets)
        by_task = ("function", "queue")
        self.queued = Counter(
            "tasks_queued",
            "Tasks that entered the pending status: accepted, recovered at start-up or "
            "requeued after an interruption.",
            by_task,
            namespace=namespace,
            registry=None,
        )
        self.started = Counter(
            "tasks_started",
            "Tasks whose first attempt began (they got an execution slot).",
            by_task,
            namespace=namespace,
            registry=None,
        )
        self.retries = Counter(
            "task_retries",
            "Attempts that began after a failed attempt of the same task.",
            by_task,
            namespace=namespace,
            registry=None,
        )
        self.finished = Counter(
            "tasks_finished",
            "Tasks that reached a final status (success, failed, interrupted, cancelled, "
            "rejected).",
            (*by_task, "status"),
            namespace=namespace,
            registry=None,
        )
        self.duration = Histogram(
            "task_duration",
            "Seconds from the start of a task's first attempt to its final status, retry "
            "waits included.",
            (*by_task, "status"),
            namespace=namespace,
            unit="seconds",
            buckets=self.buckets,
            registry=None,
        )
        self._depth_name = f"{namespace}_queue_depth"
        self._depth_help = (
            "Tasks of this process waiting (status=pending) or running (status=running) in "
            "each queue, read when scraped."
        )
        self._lock = threading.Lock()
        self._live: LiveTasks | None = None
        self._queues: set[str] = {DEFAULT_QUEUE}
        self._seen: set[tuple[str, str]] = set()

    @property
    def live_source(self) -> LiveTasks | None:
        """Where the queue depth is read from; ``None`` until bound."""
        return self._live

    def bind(self, source: LiveTasks) -> None:
        """Read the queue depth from ``source``; binding the same source again is a no-op."""
        with self._lock:
            if self._live is not None and self._live is not source:
                raise ValueError(
                    "this PrometheusObserver already reports on another TaskManager; give "
                    "each TaskManager its own observer (with its own registry or namespace)"
                )
            self._live = source

    def touch(self, function: str, queue: str) -> None:
        """Create the zero-valued series of a task name the first time it is seen.

        A series that appears only at its first increment hides that increment from
        ``rate()`` and ``increase()``; starting every counter at zero makes the first failure
        of a function count.
        """
        key = (function, queue)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._queues.add(queue)
        self.queued.labels(function, queue)
        self.started.labels(function, queue)
        self.retries.labels(function, queue)
        for status in FINAL_STATUSES:
            self.finished.labels(function, queue, status)

    # -- the collector interface --------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The metric families without samples: what the registry checks names against."""
        yield from self._counters_and_histogram("describe")
        yield GaugeMetricFamily(self._depth_name, self._depth_help, labels=("queue", "status"))

    def collect(self) -> Iterator[Metric]:
        """Every metric family with its current samples."""
        yield from self._counters_and_histogram("collect")
        yield self._queue_depth()

    def _counters_and_histogram(self, method: str) -> Iterator[Metric]:
        for metric in (self.queued, self.started, self.retries, self.finished, self.duration):
            yield from getattr(metric, method)()

    def _queue_depth(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self._depth_name, self._depth_help, labels=("queue", "status"))
        source = self._live
        if source is None:
            # Without a manager there is nothing to count; zeros would be a false reading.
            return family
        counts = Tally((record.queue, record.status.value) for record in source.live())
        configured = source.queue_names() if isinstance(source, QueueNames) else []
        with self._lock:
            self._queues.update(configured)
            self._queues.update(queue for queue, _ in counts)
            queues = sorted(self._queues)
        # Queues seen once keep reporting, so an emptied queue reads 0 instead of vanishing.
        for queue in queues:
            for status in LIVE_STATUSES:
                family.add_metric((queue, status), counts[(queue, status)])
        return family
