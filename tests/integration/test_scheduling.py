"""Scheduling through the public API in a real app: decoration, runs, one-offs, the REST view."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import ScheduledOnce, TaskAdmin, TaskManager

from .conftest import serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration


def manager_on(tmp_path: Path) -> TaskManager:
    return TaskManager(snapshot_db=str(tmp_path / "tasks.db"))


async def scheduled_tasks(client: httpx.AsyncClient, func_name: str) -> list[dict[str, object]]:
    response = await client.get(
        "/tasks", params={"source": "scheduled", "func_name": func_name, "limit": 1000}
    )
    assert response.status_code == 200, response.text
    tasks: list[dict[str, object]] = response.json()
    return tasks


# -- decoration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of every"),
        ({"every": 60, "cron": "0 2 * * *"}, "exactly one of every"),
        ({"every": 0}, "every must be a positive"),
        ({"every": -5}, "every must be a positive"),
        ({"cron": "0 25 * * *"}, "invalid cron expression"),
        ({"cron": "0 2 * *"}, "five fields"),
        ({"cron": "0 2 * * *", "timezone": "Europe/Atlantis"}, "unknown time zone"),
        ({"every": 60, "missed": "sometimes"}, "missed must be one of"),
        ({"every": 60, "run_on_startup": "yes"}, "run_on_startup"),
        ({"every": 60, "retries": -1}, "retries"),
    ],
)
def test_bad_schedules_fail_at_decoration(options: dict[str, object], message: str) -> None:
    tm = TaskManager()

    with pytest.raises(ValueError, match=message):

        @tm.schedule(**options)  # type: ignore[arg-type]
        async def report() -> None: ...

    assert "report" not in tm.registry


def test_cron_without_croniter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "croniter", None)
    tm = TaskManager()

    with pytest.raises(ImportError, match=r"pip install 'fastapi-taskflow\[scheduler\]'"):
        tm.schedule(cron="0 2 * * *")

    @tm.schedule(every=60)  # intervals need no extra
    def still_fine() -> None: ...


def test_an_executor_the_function_cannot_use_fails_at_decoration() -> None:
    tm = TaskManager()

    with pytest.raises(ValueError, match="async"):

        @tm.schedule(every=60, executor="async")
        def blocking() -> None: ...


def test_a_scheduled_function_is_also_an_ordinary_task() -> None:
    tm = TaskManager()

    async def cleanup() -> None: ...

    decorated = tm.schedule(every=300, retries=2, name="cleanup-job")(cleanup)

    assert decorated is cleanup
    entry = tm.registry.get(cleanup)
    assert entry is not None
    assert (entry.name, entry.config.retries) == ("cleanup-job", 2)


def test_one_name_has_one_schedule() -> None:
    tm = TaskManager()

    async def sync_accounts() -> None: ...

    tm.schedule(every=60)(sync_accounts)
    tm.schedule(every=60)(sync_accounts)  # the same again (a module imported twice) is fine

    with pytest.raises(ValueError, match=r"already scheduled .*pass name="):
        tm.schedule(cron="0 * * * *", retries=5)(sync_accounts)
    entry = tm.registry.get_by_name("sync_accounts")
    assert entry is not None and entry.config.retries == 0  # the refused one changed nothing
    tm.schedule(cron="0 * * * *", name="sync_accounts_hourly")(sync_accounts)
    assert sorted(entry.name for entry in tm.service.scheduler.periodic) == [
        "sync_accounts",
        "sync_accounts_hourly",
    ]


# -- running -------------------------------------------------------------------------------


async def test_slots_run_as_scheduled_tasks_and_show_in_the_api(tmp_path: Path) -> None:
    tm = manager_on(tmp_path)
    app = FastAPI()
    TaskAdmin(app, tm)

    @tm.schedule(every=0.2, retries=1)
    async def heartbeat() -> None: ...

    @tm.schedule(cron="0 9 * * 1-5", timezone="America/New_York", missed="run_once")
    def morning_report() -> None: ...

    async with serve(app) as client:

        async def three_ran() -> bool:
            runs = await scheduled_tasks(client, "heartbeat")
            return sum(run["status"] == "success" for run in runs) >= 3

        await wait_until(three_ran, "three heartbeats succeeded")
        await tm.schedule_once(
            morning_report, run_at=datetime.now(timezone.utc) + timedelta(days=1), run_key="x"
        )
        response = await client.get("/tasks/schedules")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["one_off_armed"] == 1
    entries = {entry["name"]: entry for entry in body["entries"]}
    beat = entries["heartbeat"]
    assert beat["trigger"] == {"type": "interval", "every": 0.2, "cron": None, "timezone": None}
    assert beat["last_run"]["status"] in ("pending", "running", "success")
    assert (beat["retries"], beat["executor"], beat["missed"]) == (1, "async", "skip")
    report = entries["morning_report"]
    assert report["trigger"] == {
        "type": "cron",
        "every": None,
        "cron": "0 9 * * 1-5",
        "timezone": "America/New_York",
    }
    assert report["last_run"] is None
    assert report["missed"] == "run_once"
    next_run = datetime.fromisoformat(report["next_run"].replace("Z", "+00:00"))
    assert next_run.astimezone(timezone(timedelta(hours=-5))).hour in (8, 9)  # 09:00 EST/EDT


async def test_run_on_startup_runs_when_the_app_starts(tmp_path: Path) -> None:
    tm = manager_on(tmp_path)
    app = FastAPI()
    TaskAdmin(app, tm)

    @tm.schedule(every=3600, run_on_startup=True)
    async def warm_cache() -> None: ...

    async with serve(app) as client:

        async def ran() -> bool:
            runs = await scheduled_tasks(client, "warm_cache")
            return [run["status"] for run in runs] == ["success"]

        await wait_until(ran, "the start-up run succeeded")


async def test_a_one_off_run_survives_a_restart_and_runs_once(tmp_path: Path) -> None:
    ran: list[str] = []

    def deploy(tmp: Path) -> tuple[FastAPI, TaskManager]:
        tm = manager_on(tmp)
        app = FastAPI()
        TaskAdmin(app, tm)

        @tm.task()
        def expire_trial(account: str) -> None:
            ran.append(account)

        app.state.expire_trial = expire_trial
        return app, tm

    app, tm = deploy(tmp_path)
    async with serve(app):
        stored = await tm.schedule_once(
            app.state.expire_trial,
            "acme",
            run_at=datetime.now(timezone.utc) + timedelta(seconds=1),
            run_key="trial:acme",
        )
        assert isinstance(stored, ScheduledOnce)
    assert ran == []  # stopped before it was due

    app, tm = deploy(tmp_path)  # a new process on the same database
    async with serve(app) as client:
        await wait_until(lambda: ran == ["acme"], "the one-off run started after the restart")
        (task,) = await scheduled_tasks(client, "expire_trial")
        await wait_for_status(client, str(task["task_id"]))
        assert await tm.list_scheduled() == []
        assert await tm.cancel_scheduled("trial:acme") is False
    assert ran == ["acme"]
