"""The app of the Prometheus guide serves task metrics next to the process metrics of the
global registry, and its counters agree with the task records."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prometheus_app.py"


@pytest.fixture
def example() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("prometheus_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    # The example uses the global registry; free the names for the next test.
    module.metrics.unregister()


async def test_the_example_counts_what_its_tasks_did(example: ModuleType) -> None:
    async with serve(example.app) as client:
        task_ids = [
            (await client.post("/signup", params={"address": f"user{n}@example.com"})).json()[
                "task_id"
            ]
            for n in range(10)
        ]
        records = [
            await wait_for_status(client, task_id, ["success", "failed"]) for task_id in task_ids
        ]

        async def scrape() -> dict[str, float]:
            text = (await client.get("/metrics")).text
            totals: dict[str, float] = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.labels.get("function") in (None, "send_welcome_email"):
                        totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
            return totals

        async def delivered() -> bool:
            return (await scrape()).get("taskflow_tasks_finished_total") == 10

        await wait_until(delivered, "every task's final status reached the observer")
        totals = await scrape()

    assert totals["taskflow_tasks_queued_total"] == 10
    assert totals["taskflow_tasks_started_total"] == 10
    assert totals["taskflow_task_retries_total"] == sum(r["retries_used"] for r in records)
    assert totals["taskflow_task_duration_seconds_count"] == 10
    assert totals["taskflow_queue_depth"] == 0
    assert "process_cpu_seconds_total" in totals  # from the global registry
