"""The /metrics route of a real app: tasks that succeed, fail and retry are counted and timed
exactly, and the queue depth follows tasks held running and waiting for a slot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx
import pytest
from dependency_injector import providers
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from fastapi_taskflow import (
    LifecycleEvent,
    ManagedBackgroundTasks,
    PrometheusObserver,
    TaskAdmin,
    TaskManager,
    TaskObserver,
)
from fastapi_taskflow.application.observer_feed import ObserverFeed

from .conftest import serve, wait_for_record, wait_for_status, wait_until

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def depth(samples: Samples, status: str) -> float | None:
    return value(samples, "taskflow_queue_depth", queue="default", status=status)


def finished(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "taskflow_tasks_finished_total")


class App:
    """An app whose tasks succeed, fail, retry or wait for a gate, with metrics at /metrics."""

    def __init__(self, *, max_concurrent_tasks: int = 2) -> None:
        self.gate = asyncio.Event()
        self.running = 0
        self.flaky_attempts = 0
        self.metrics = PrometheusObserver(registry=CollectorRegistry())
        self.manager = TaskManager(
            loggers=[self.metrics], max_concurrent_tasks=max_concurrent_tasks
        )
        self.app = FastAPI()
        TaskAdmin(self.app, self.manager)
        self.app.add_route("/metrics", self.metrics.route)
        manager = self.manager

        @manager.task()
        async def held() -> None:
            self.running += 1
            await self.gate.wait()

        @manager.task()
        async def quick() -> None:
            return None

        @manager.task(retries=1)
        async def broken() -> None:
            raise RuntimeError("always broken")

        @manager.task(retries=2)
        async def flaky() -> None:
            self.flaky_attempts += 1
            if self.flaky_attempts == 1:
                raise ConnectionError("first try fails")

        tasks = {"held": held, "quick": quick, "broken": broken, "flaky": flaky}

        # The explicit dependency keeps each app on its own manager when two share a process
        # (a bare BackgroundTasks parameter goes to the manager installed last).
        @self.app.post("/enqueue/{name}")
        async def enqueue(
            name: str,
            background: ManagedBackgroundTasks = Depends(manager.get_tasks),  # noqa: B008
        ) -> dict[str, str]:
            # Eager: started at once, so the response does not wait for a held task.
            return {"task_id": background.add_task(tasks[name], eager=True)}


async def enqueue(client: httpx.AsyncClient, names: Iterable[str]) -> list[str]:
    return [(await client.post(f"/enqueue/{name}")).json()["task_id"] for name in names]


async def test_counters_histogram_and_queue_depth_of_a_real_app() -> None:
    subject = App(max_concurrent_tasks=2)

    async with serve(subject.app) as client:
        before = await scrape(client)
        assert depth(before, "pending") == 0 and depth(before, "running") == 0

        held = await enqueue(client, ["held"] * 3)
        await wait_until(lambda: subject.running == 2, "two held tasks take both slots")
        samples = await scrape(client)
        # Read from the live tasks, so exact at once: no waiting for observer delivery.
        assert depth(samples, "running") == 2
        assert depth(samples, "pending") == 1

        others = await enqueue(client, ["quick", "broken", "flaky"])
        samples = await scrape(client)
        assert depth(samples, "running") == 2
        assert depth(samples, "pending") == 4

        subject.gate.set()
        records = [await wait_for_status(client, task_id) for task_id in held]
        quick, broken, flaky = others
        records.append(await wait_for_status(client, quick))
        failed = await wait_for_status(client, broken, ["failed"])
        records.append(await wait_for_status(client, flaky))

        async def all_delivered() -> bool:
            return finished(await scrape(client)) == 6

        await wait_until(all_delivered, "every final status reached the observer")
        samples = await scrape(client)

    assert depth(samples, "pending") == 0 and depth(samples, "running") == 0

    def counted(name: str, function: str, **labels: str) -> float | None:
        return value(samples, name, function=function, queue="default", **labels)

    expected = {
        # function: (queued, started, retries, success, failed)
        "held": (3, 3, 0, 3, 0),
        "quick": (1, 1, 0, 1, 0),
        "broken": (1, 1, 1, 0, 1),
        "flaky": (1, 1, 1, 1, 0),
    }
    for function, (queued, started, retries, success, failures) in expected.items():
        assert counted("taskflow_tasks_queued_total", function) == queued, function
        assert counted("taskflow_tasks_started_total", function) == started, function
        assert counted("taskflow_task_retries_total", function) == retries, function
        outcome = "taskflow_tasks_finished_total"
        assert counted(outcome, function, status="success") == success, function
        assert counted(outcome, function, status="failed") == failures, function
        assert counted(outcome, function, status="cancelled") == 0, function

    histogram = "taskflow_task_duration_seconds"
    assert counted(f"{histogram}_count", "held", status="success") == 3
    held_sum = counted(f"{histogram}_sum", "held", status="success")
    assert held_sum == pytest.approx(sum(record["duration"] for record in records[:3]))
    assert counted(f"{histogram}_count", "broken", status="failed") == 1
    broken_sum = counted(f"{histogram}_sum", "broken", status="failed")
    assert broken_sum == pytest.approx(failed["duration"])
    assert counted(f"{histogram}_bucket", "flaky", status="success", le="+Inf") == 1
    assert counted(f"{histogram}_count", "broken", status="success") is None


async def test_openmetrics_is_served_when_the_scraper_asks_for_it() -> None:
    subject = App()

    async with serve(subject.app) as client:
        [task_id] = await enqueue(client, ["quick"])
        await wait_for_status(client, task_id)
        response = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {family.name: family for family in openmetrics_families(response.text)}
    assert families["taskflow_task_duration_seconds"].unit == "seconds"
    assert families["taskflow_tasks_finished"].type == "counter"
    assert families["taskflow_queue_depth"].type == "gauge"


async def test_the_metrics_route_only_reads() -> None:
    subject = App()

    async with serve(subject.app) as client:
        response = await client.post("/metrics")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_two_managers_in_one_process_keep_their_own_metrics() -> None:
    first, second = App(), App()

    async with serve(first.app) as first_client, serve(second.app) as second_client:
        ids = await enqueue(first_client, ["quick", "quick"])
        for task_id in ids:
            await wait_for_status(first_client, task_id)

        async def delivered() -> bool:
            return finished(await scrape(first_client)) == 2

        await wait_until(delivered, "the first app's observer saw both tasks")
        other = await scrape(second_client)

    assert finished(other) == 0
    assert not [key for key in other if dict(key[1]).get("function") == "quick"]


async def test_a_scrape_can_ask_for_some_series_only() -> None:
    subject = App()

    async with serve(subject.app) as client:
        response = await client.get("/metrics", params={"name[]": "taskflow_queue_depth"})

    names = {
        sample.name
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert names == {"taskflow_queue_depth"}


async def test_queue_depth_stays_exact_when_observer_events_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unblock = asyncio.Event()

    class Stalled(TaskObserver):
        """Holds up delivery, so events pile up and the oldest are dropped."""

        async def on_lifecycle(self, event: LifecycleEvent) -> None:
            await unblock.wait()

    metrics = PrometheusObserver(registry=CollectorRegistry())
    manager = TaskManager(loggers=[Stalled(), metrics], max_concurrent_tasks=5)
    container = manager.container
    container.feed.override(providers.Singleton(ObserverFeed, container.observer, max_backlog=3))
    gate = asyncio.Event()
    running = 0

    @manager.task()
    async def held() -> None:
        nonlocal running
        running += 1
        await gate.wait()

    def registry_samples() -> Samples:
        text = generate_latest(metrics.registry).decode()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    await manager.startup()
    try:
        task_ids = [manager.add_task(held) for _ in range(20)]
        await wait_until(lambda: running == 5, "five tasks hold the five slots")
        while_held = registry_samples()
        gate.set()
        for task_id in task_ids:
            await wait_for_record(manager, task_id)
        after = registry_samples()
        unblock.set()
    finally:
        await manager.shutdown()

    assert depth(while_held, "running") == 5
    assert depth(while_held, "pending") == 15
    assert depth(after, "running") == 0
    assert depth(after, "pending") == 0
    # The counters are fed by events, and many were dropped on the way.
    queued = value(
        registry_samples(), "taskflow_tasks_queued_total", function="held", queue="default"
    )
    assert queued is not None and queued < 20
    assert "events were dropped" in caplog.text
