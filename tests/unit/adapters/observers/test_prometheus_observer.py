"""PrometheusObserver: lifecycle events become counters and a histogram, the queue depth is read
from the live tasks at scrape time, and bad configuration is refused when the observer is built."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fastapi_taskflow import PrometheusObserver, QueueConfig, TaskManager
from fastapi_taskflow.adapters.observers import InMemoryLogger, LoggerChain
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.domain.events import LifecycleEvent
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord

NOON = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    """Every sample of the registry, parsed back from the text format a scraper reads."""
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def family_names(registry: CollectorRegistry) -> set[str]:
    text = generate_latest(registry).decode()
    return {family.name for family in text_string_to_metric_families(text)}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def event(
    status: TaskStatus,
    *,
    func: str = "send_email",
    queue: str = "default",
    attempt: int = 1,
    error: str | None = None,
    duration: float | None = None,
) -> LifecycleEvent:
    return LifecycleEvent(
        task_id="t-1",
        func_name=func,
        status=status,
        timestamp=NOON,
        attempt=attempt,
        error=error,
        duration=duration,
        queue=queue,
        tags={"customer": "42"},
    )


def record(task_id: str, *, queue: str = "default") -> TaskRecord:
    return TaskRecord(task_id=task_id, func_name="send_email", created_at=NOON, queue=queue)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


async def test_a_task_that_retries_then_fails_is_counted_once_per_transition(
    registry: CollectorRegistry,
) -> None:
    observer = PrometheusObserver(registry=registry)
    for lifecycle in [
        event(TaskStatus.PENDING),
        event(TaskStatus.RUNNING),
        event(TaskStatus.RUNNING, attempt=2, error="TimeoutError: slow"),
        event(TaskStatus.RUNNING, attempt=3, error="TimeoutError: slow"),
        event(TaskStatus.FAILED, attempt=3, error="TimeoutError: slow", duration=4.5),
    ]:
        await observer.on_lifecycle(lifecycle)

    samples = scrape(registry)
    task = {"function": "send_email", "queue": "default"}
    assert value(samples, "taskflow_tasks_queued_total", **task) == 1
    assert value(samples, "taskflow_tasks_started_total", **task) == 1
    assert value(samples, "taskflow_task_retries_total", **task) == 2
    assert value(samples, "taskflow_tasks_finished_total", **task, status="failed") == 1
    assert value(samples, "taskflow_tasks_finished_total", **task, status="success") == 0
    failed = {**task, "status": "failed"}
    assert value(samples, "taskflow_task_duration_seconds_count", **failed) == 1
    assert value(samples, "taskflow_task_duration_seconds_sum", **failed) == 4.5
    assert value(samples, "taskflow_task_duration_seconds_bucket", **failed, le="2.5") == 0
    assert value(samples, "taskflow_task_duration_seconds_bucket", **failed, le="5.0") == 1
    assert value(samples, "taskflow_task_duration_seconds_bucket", **failed, le="+Inf") == 1


async def test_every_final_status_starts_at_zero_once_a_function_is_seen(
    registry: CollectorRegistry,
) -> None:
    observer = PrometheusObserver(registry=registry)
    await observer.on_lifecycle(event(TaskStatus.PENDING, func="report", queue="bulk"))

    samples = scrape(registry)
    task = {"function": "report", "queue": "bulk"}
    for status in ["success", "failed", "interrupted", "cancelled", "rejected"]:
        assert value(samples, "taskflow_tasks_finished_total", **task, status=status) == 0
    assert value(samples, "taskflow_task_retries_total", **task) == 0
    assert value(samples, "taskflow_tasks_queued_total", **task) == 1


async def test_tasks_that_never_started_are_counted_but_not_timed(
    registry: CollectorRegistry,
) -> None:
    observer = PrometheusObserver(registry=registry)
    await observer.on_lifecycle(event(TaskStatus.CANCELLED))

    samples = scrape(registry)
    task = {"function": "send_email", "queue": "default", "status": "cancelled"}
    assert value(samples, "taskflow_tasks_finished_total", **task) == 1
    assert value(samples, "taskflow_task_duration_seconds_count", **task) is None


async def test_task_ids_and_tags_never_become_labels(registry: CollectorRegistry) -> None:
    observer = PrometheusObserver(registry=registry)
    await observer.on_lifecycle(event(TaskStatus.PENDING))
    await observer.on_lifecycle(event(TaskStatus.SUCCESS, duration=0.2))

    label_names = {name for _, labels in scrape(registry) for name, _ in labels}
    assert label_names <= {"function", "queue", "status", "le"}


def test_queue_depth_counts_the_live_tasks_at_scrape_time(registry: CollectorRegistry) -> None:
    store = TaskStore()
    observer = PrometheusObserver(registry=registry)
    observer.bind_live_tasks(store)
    waiting = [record("a"), record("b"), record("c", queue="bulk")]
    running = record("d")
    for task in [*waiting, running]:
        store.add(task)
    running.start(NOON)
    store.settle(running)

    samples = scrape(registry)
    assert value(samples, "taskflow_queue_depth", queue="default", status="pending") == 2
    assert value(samples, "taskflow_queue_depth", queue="default", status="running") == 1
    assert value(samples, "taskflow_queue_depth", queue="bulk", status="pending") == 1

    for task in waiting:
        task.cancel(NOON)
        store.settle(task)
    running.succeed(NOON)
    store.settle(running)

    samples = scrape(registry)
    # A queue seen once keeps its series, reading 0 once it is empty.
    for queue in ["default", "bulk"]:
        for status in ["pending", "running"]:
            assert value(samples, "taskflow_queue_depth", queue=queue, status=status) == 0


def test_queue_depth_has_no_samples_until_a_manager_binds_the_observer(
    registry: CollectorRegistry,
) -> None:
    observer = PrometheusObserver(registry=registry)

    assert not observer.bound
    assert not [key for key in scrape(registry) if key[0] == "taskflow_queue_depth"]


def test_the_task_manager_binds_its_observers_including_those_in_a_chain() -> None:
    direct = PrometheusObserver(registry=CollectorRegistry())
    chained = PrometheusObserver(registry=CollectorRegistry())

    manager = TaskManager(loggers=[direct, LoggerChain([InMemoryLogger(), chained])])

    assert direct.bound and chained.bound
    manager.store.add(record("a"))
    samples = scrape(chained.registry)
    assert value(samples, "taskflow_queue_depth", queue="default", status="pending") == 1


def test_every_declared_queue_reports_a_depth_even_before_its_first_task() -> None:
    observer = PrometheusObserver(registry=CollectorRegistry())
    TaskManager(loggers=[observer], queues={"pdf": QueueConfig(concurrency=2)})

    samples = scrape(observer.registry)

    for queue in ("default", "pdf"):
        for status in ("pending", "running"):
            assert value(samples, "taskflow_queue_depth", queue=queue, status=status) == 0


def test_one_observer_cannot_report_on_two_managers() -> None:
    observer = PrometheusObserver(registry=CollectorRegistry())
    TaskManager(loggers=[observer])

    with pytest.raises(ValueError, match="already reports on another TaskManager"):
        TaskManager(loggers=[observer])


def test_binding_the_same_source_again_is_harmless(registry: CollectorRegistry) -> None:
    store = TaskStore()
    observer = PrometheusObserver(registry=registry)
    observer.bind_live_tasks(store)
    observer.bind_live_tasks(store)

    store.add(record("a"))
    samples = scrape(registry)
    assert value(samples, "taskflow_queue_depth", queue="default", status="pending") == 1


def test_two_observers_on_one_registry_are_refused_with_a_way_out(
    registry: CollectorRegistry,
) -> None:
    first = PrometheusObserver(registry=registry)

    with pytest.raises(ValueError, match=r"its own registry \(registry=CollectorRegistry\(\)\)"):
        PrometheusObserver(registry=registry)

    PrometheusObserver(registry=registry, namespace="billing")
    first.unregister()
    first.unregister()  # a second call changes nothing
    PrometheusObserver(registry=registry)  # the names are free again

    assert {"billing_tasks_queued", "taskflow_tasks_queued"} <= family_names(registry)


def test_the_default_registry_is_prometheus_clients_global_one() -> None:
    observer = PrometheusObserver()
    try:
        assert observer.registry is REGISTRY
        with pytest.raises(ValueError, match="already has metrics named like taskflow_"):
            PrometheusObserver()
    finally:
        observer.unregister()


def test_a_custom_namespace_and_buckets_name_and_shape_the_metrics(
    registry: CollectorRegistry,
) -> None:
    observer = PrometheusObserver(registry=registry, namespace="jobs", buckets=[1, 60])

    assert observer.buckets == (1.0, 60.0)
    assert family_names(registry) == {
        "jobs_tasks_queued",
        "jobs_tasks_started",
        "jobs_task_retries",
        "jobs_tasks_finished",
        "jobs_task_duration_seconds",
        "jobs_queue_depth",
    }


async def test_custom_buckets_are_the_histogram_bounds(registry: CollectorRegistry) -> None:
    observer = PrometheusObserver(registry=registry, buckets=(1, 60))
    await observer.on_lifecycle(event(TaskStatus.SUCCESS, duration=30.0))

    samples = scrape(registry)
    bounds = sorted(
        dict(labels)["le"]
        for name, labels in samples
        if name == "taskflow_task_duration_seconds_bucket"
    )
    assert bounds == sorted(["1.0", "60.0", "+Inf"])


def test_the_default_buckets_span_ten_milliseconds_to_an_hour_and_can_be_extended() -> None:
    default = PrometheusObserver(registry=CollectorRegistry())
    longer = PrometheusObserver(
        registry=CollectorRegistry(), buckets=[*PrometheusObserver.DEFAULT_BUCKETS, 7200]
    )

    assert default.buckets == PrometheusObserver.DEFAULT_BUCKETS
    assert (default.buckets[0], default.buckets[-1]) == (0.01, 3600.0)
    assert longer.buckets[-2:] == (3600.0, 7200.0)


@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ([], "at least one"),
        ([5, 1], "strictly increasing"),
        ([1, 1], "strictly increasing"),
        ([0, 1], "> 0"),
        ([-1.0], "> 0"),
        ([1, float("inf")], "finite"),
        ([float("nan")], "finite"),
        ([True], "numbers of seconds"),
        (["1"], "numbers of seconds"),
        ("1,2", "sequence of numbers"),
        (5, "sequence of numbers"),
    ],
)
def test_bad_buckets_are_refused(buckets: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrometheusObserver(registry=CollectorRegistry(), buckets=buckets)  # type: ignore[arg-type]


@pytest.mark.parametrize("namespace", ["", "1tasks", "task-flow", "tasks:flow", "tâches", None])
def test_bad_namespaces_are_refused(namespace: object) -> None:
    with pytest.raises(ValueError, match="namespace must start with a letter or underscore"):
        PrometheusObserver(registry=CollectorRegistry(), namespace=namespace)  # type: ignore[arg-type]


def test_a_registry_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="CollectorRegistry, got dict"):
        PrometheusObserver(registry={})  # type: ignore[arg-type]


def test_a_refused_observer_leaves_the_registry_as_it_was(registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError):
        PrometheusObserver(registry=registry, buckets=[])

    PrometheusObserver(registry=registry)  # the names are still free
