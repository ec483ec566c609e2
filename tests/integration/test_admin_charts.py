"""Chart data and server-rendered charts from the admin API of a real app."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

from .conftest import serve, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(shared_store: str) -> AsyncIterator[httpx.AsyncClient]:
    tm = TaskManager(storage_url=shared_store)
    app = FastAPI()
    TaskAdmin(app, tm)

    @tm.task()
    def job(fail: bool) -> None:
        if fail:
            raise RuntimeError("asked to fail")

    async with serve(app) as http:
        ids = [tm.add_task(job, n % 3 == 0) for n in range(6)]
        for task_id in ids:
            await wait_for_status(http, task_id, ["success", "failed"])
        yield http


async def test_activity_counts_what_finished_recently(client: httpx.AsyncClient) -> None:
    response = await client.get("/tasks/metrics/activity", params={"since": "1h", "buckets": 12})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_seconds"] == 300 and len(body["buckets"]) == 12
    assert sum(bucket["success"] for bucket in body["buckets"]) == 4
    assert sum(bucket["failed"] for bucket in body["buckets"]) == 2
    only = await client.get("/tasks/metrics/activity", params={"func_name": "nothing"})
    assert sum(bucket["success"] for bucket in only.json()["buckets"]) == 0


async def test_durations_count_every_finished_task(client: httpx.AsyncClient) -> None:
    body = (await client.get("/tasks/metrics/durations", params={"func_name": "job"})).json()
    assert body["total"] == 6
    assert body["bins"][0]["low"] is None and body["bins"][-1]["high"] is None
    assert sum(item["count"] for item in body["bins"]) == 6


async def test_charts_are_svg_in_the_viewers_zone(client: httpx.AsyncClient) -> None:
    activity = await client.get(
        "/tasks/charts/activity.svg", params={"since": "6h", "tz": "Asia/Tokyo"}
    )
    durations = await client.get("/tasks/charts/durations.svg")

    for response in (activity, durations):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["content-security-policy"] == "default-src 'none'"
        ET.fromstring(response.text)  # well-formed
    assert "chart-bar-success" in activity.text


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/tasks/charts/activity.svg", {"tz": "Mars/Olympus"}, 400),
        # A folder of the zone database, and a name too long for a file: no 500.
        ("/tasks/charts/activity.svg", {"tz": "America"}, 400),
        ("/tasks/charts/activity.svg", {"tz": "x" * 300}, 400),
        ("/tasks/metrics/activity", {"since": "all"}, 400),
        ("/tasks/metrics/activity", {"since": "3x"}, 400),
        ("/tasks/metrics/activity", {"buckets": 0}, 422),
        ("/tasks/metrics/activity", {"buckets": 201}, 422),
    ],
)
async def test_bad_chart_parameters_are_refused(
    client: httpx.AsyncClient, path: str, params: dict[str, object], status: int
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["detail"]
