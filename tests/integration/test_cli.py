"""The ``taskflow`` command line against the store of a real app: in-process through
``main(argv)``, and as a subprocess through the installed console script.

The app lives in a module written for each test (as a user's ``main.py`` would), so ``--app``
imports it by name from the current directory. The command line runs no tasks: what it
retries is handed off, and the app's recovery sweep (every ``lease_ttl / 3`` seconds, kept
short here) runs it.
"""

from __future__ import annotations

import asyncio
import getpass
import importlib
import io
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskManager
from fastapi_taskflow.entrypoints.cli.main import main

from .conftest import PATIENCE, serve, wait_for_status, wait_until

pytestmark = pytest.mark.integration

#: Seconds an instance's lease lasts: the app sweeps for handed-off tasks every third of it.
LEASE_TTL = 1.5

APP_SOURCE = """\
import asyncio

from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

task_manager = TaskManager(storage_url=@URL@, lease_ttl=@LEASE@, encrypt_args_key=@KEY@)
app = FastAPI()
TaskAdmin(app, task_manager, display_func_args=True)
runs = []
release = asyncio.Event()


@task_manager.task()
def charge(order, *, card="expired"):
    runs.append((order, card))
    if card == "expired":
        raise ValueError("card " + card + " declined for order " + str(order))


@task_manager.task()
async def hold():
    await release.wait()


@task_manager.task()
def ping():
    return None


task_manager.schedule(every=3600)(ping)
"""


@attrs.define
class App:
    """A user's app module: its manager, FastAPI app and task functions."""

    module: ModuleType
    url: str

    @property
    def spec(self) -> str:
        return f"{self.module.__name__}:task_manager"

    @property
    def tm(self) -> TaskManager:
        manager: TaskManager = self.module.task_manager
        return manager

    @property
    def app(self) -> FastAPI:
        app: FastAPI = self.module.app
        return app

    @property
    def runs(self) -> list[tuple[int, str]]:
        runs: list[tuple[int, str]] = self.module.runs
        return runs


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., App]]:
    """Writes an app module into the test's directory (the current one) and imports it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(url: str | None = None, *, encrypt_key: bytes | None = None) -> App:
        url = url or f"sqlite:///{tmp_path / 'tasks.db'}"
        name = f"taskflow_cli_app_{uuid.uuid4().hex[:10]}"
        source = (
            APP_SOURCE.replace("@URL@", repr(url))
            .replace("@LEASE@", repr(LEASE_TTL))
            .replace("@KEY@", repr(encrypt_key))
        )
        (tmp_path / f"{name}.py").write_text(source)
        importlib.invalidate_caches()
        names.append(name)
        return App(importlib.import_module(name), url)

    yield make
    for name in names:
        sys.modules.pop(name, None)


@attrs.frozen
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code in (0, 1), self.err
        return json.loads(self.out)


class Terminal(io.StringIO):
    """Standard input that says it is a terminal, with the answers typed in advance."""

    def isatty(self) -> bool:
        return True


async def taskflow(*argv: str, stdin: io.StringIO | None = None, **env: str) -> Ran:
    """Run the command line in-process (in a thread: it runs its own event loop) with only
    the given environment variables."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(
        main, list(argv), stdout=out, stderr=err, stdin=stdin or io.StringIO(""), environ=env
    )
    return Ran(code, out.getvalue(), err.getvalue())


async def failed(app: App, client: httpx.AsyncClient, order: int = 1) -> str:
    task_id = app.tm.add_task(app.module.charge, order)
    await wait_for_status(client, task_id, ["failed"])
    return task_id


async def succeeded(app: App, client: httpx.AsyncClient) -> str:
    task_id = app.tm.add_task(app.module.ping)
    await wait_for_status(client, task_id, ["success"])
    return task_id


def one_line_error(ran: Ran, *fragments: str) -> None:
    """The command failed with one line on stderr holding every fragment, and no output."""
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("taskflow: error: "), ran.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert ran.out == ""


# -- reading ----------------------------------------------------------------------------------


async def test_list_prints_a_table_newest_first_and_pages_with_a_cursor(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        ids = [await failed(app, client, order) for order in range(3)]
        done = await succeeded(app, client)

        first = await taskflow("list", "--url", app.url, "--limit", "2")
        assert first.code == 0, first.err
        lines = first.out.splitlines()
        assert lines[0].split() == ["ID", "STATUS", "FUNCTION", "CREATED", "DURATION", "RETRIES"]
        assert [line.split()[0] for line in lines[1:3]] == [done, ids[2]]
        assert lines[1].split()[1:3] == ["success", "ping"]
        assert lines[-1].startswith("More tasks: add --cursor ")
        cursor = lines[-1].rsplit(" ", 1)[1]

        rest = await taskflow("list", "--url", app.url, "--limit", "2", "--cursor", cursor)
        assert [line.split()[0] for line in rest.out.splitlines()[1:]] == [ids[1], ids[0]]

        page = (await taskflow("--json", "list", "--url", app.url, "--status", "failed")).json()
        assert [item["task_id"] for item in page["items"]] == ids[::-1]
        assert page["next_cursor"] is None
        assert page["items"][0]["args"] == []  # hidden without --show-args

        for filters, expected in [
            (["--func", "ping"], [done]),
            (["--status", "success,failed", "--since", "1h"], [done, *ids[::-1]]),
            (["--source", "scheduled"], []),
            (["--queue", "default", "--status", "success"], [done]),
        ]:
            listed = (await taskflow("list", "--url", app.url, "--json", *filters)).json()
            assert [item["task_id"] for item in listed["items"]] == expected, filters
        empty = await taskflow("list", "--url", app.url, "--tag", "shop:eu")
        assert (empty.code, empty.out.strip()) == (0, "No tasks match.")


async def test_list_filters_by_the_request_that_enqueued_and_show_names_it(
    make_app: Callable[..., App],
) -> None:
    app = make_app()

    @app.app.post("/orders/{order}/ping")
    async def order_ping(order: int) -> dict[str, str]:
        return {"task_id": app.tm.add_task(app.module.ping)}

    async with serve(app.app) as client:
        response = await client.post("/orders/5/ping", headers={"X-Request-ID": "cli-req"})
        from_request = response.json()["task_id"]
        await wait_for_status(client, from_request, ["success"])
        outside = await succeeded(app, client)

        for filters, expected in [
            (["--request-id", "cli-req"], [from_request]),
            (["--route", "/orders/{order}/ping", "--method", "POST"], [from_request]),
            (["--method", "GET"], []),
            (["--principal", "nobody"], []),
        ]:
            listed = (await taskflow("list", "--url", app.url, "--json", *filters)).json()
            assert [item["task_id"] for item in listed["items"]] == expected, filters
            for item in listed["items"]:
                assert item["provenance"]["request_id"] == "cli-req"

        shown = await taskflow("show", from_request, "--url", app.url)
        assert "Enqueued by      POST /orders/{order}/ping" in shown.out
        assert "Request id       cli-req" in shown.out
        assert (
            "Enqueued by      no request"
            in (await taskflow("show", outside, "--url", app.url)).out
        )
        too_long = await taskflow("list", "--url", app.url, "--route", "/" + "x" * 300)
        assert too_long.code == 2
        one_line_error(too_long, "--route", "at most 255 characters")


async def test_show_and_metrics_agree_with_the_admin_api(make_app: Callable[..., App]) -> None:
    app = make_app()
    async with serve(app.app) as client:
        task_id = await failed(app, client, order=7)
        await succeeded(app, client)

        shown = await taskflow("show", task_id, "--url", app.url)
        assert shown.code == 0, shown.err
        assert "Arguments        hidden; add --show-args to show them" in shown.out
        assert "Error            ValueError: card expired declined for order 7" in shown.out
        assert "Stack trace:" in shown.out and "Logs: none" in shown.out
        with_args = await taskflow("show", task_id, "--url", app.url, "--show-args")
        assert "Args             [7]" in with_args.out

        api_task = (await client.get(f"/tasks/{task_id}")).json()
        cli_task = (
            await taskflow("show", task_id, "--url", app.url, "--show-args", "--json")
        ).json()
        assert cli_task == api_task

        api_metrics = (await client.get("/tasks/metrics")).json()
        cli_metrics = (await taskflow("metrics", "--url", app.url, "--json")).json()
        # Queue counts describe the instance that answered; the CLI is none, so has none.
        assert cli_metrics.pop("by_queue") == {}
        api_metrics.pop("by_queue")
        assert cli_metrics == api_metrics
        report = await taskflow("metrics", "--url", app.url)
        assert report.out.startswith("Tasks: 2 ") and "Success rate: 50.0% of all" in report.out
        assert "charge" in report.out and "ping" in report.out
        only = (await taskflow("metrics", "--url", app.url, "--func", "ping", "--json")).json()
        assert (only["total"], list(only["by_function"])) == (1, ["ping"])


async def test_encrypted_arguments_are_shown_only_with_the_key(
    make_app: Callable[..., App],
) -> None:
    fernet = pytest.importorskip("cryptography.fernet")
    key = fernet.Fernet.generate_key()
    app = make_app(encrypt_key=key)
    async with serve(app.app) as client:
        task_id = await failed(app, client, order=5)

        without_key = await taskflow("show", task_id, "--url", app.url, "--show-args")
        assert "Arguments        encrypted; give the app's key" in without_key.out
        hidden = (await taskflow("show", task_id, "--url", app.url, "--json")).json()
        assert (hidden["args"], hidden["encrypted"]) == ([], True)
        with_key = await taskflow(
            "show",
            task_id,
            "--url",
            app.url,
            "--show-args",
            "--json",
            TASKFLOW_ENCRYPT_KEY=key.decode(),
        )
        assert (with_key.json()["args"], with_key.json()["encrypted"]) == ([5], True)
        from_app = await taskflow("show", task_id, "--app", app.spec, "--show-args")
        assert "Args             [5]" in from_app.out
        wrong = await taskflow(
            "show",
            task_id,
            "--url",
            app.url,
            "--show-args",
            "--encrypt-key",
            fernet.Fernet.generate_key().decode(),
        )
        assert "encrypted with a key that was not given" in wrong.out
        invalid = await taskflow(
            "show", task_id, "--url", app.url, "--show-args", "--encrypt-key", "not-a-key"
        )
        assert invalid.code == 2
        one_line_error(invalid, "--encrypt-key", "not a valid Fernet key")
        # The key is read only when something has to be decrypted.
        unread = await taskflow("show", task_id, "--url", app.url, "--encrypt-key", "not-a-key")
        assert unread.code == 0, unread.err

        # A retry passes the sealed arguments on untouched; the app opens them to run.
        retried = (await taskflow("retry", task_id, "--app", app.spec, "--json")).json()
        await wait_for_status(client, retried["task_id"], ["failed"])
        assert app.runs == [(5, "expired"), (5, "expired")]


# -- retrying ---------------------------------------------------------------------------------


async def test_a_retry_is_handed_off_and_run_by_the_running_app(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        original = await failed(app, client, order=3)

        ran = await taskflow(
            "retry",
            original,
            "--app",
            app.spec,
            "--kwargs",
            '{"card": "valid"}',
            "--show-args",
            "--tag",
            "ticket=OPS-1",
            "--actor",
            "alice",
            "--json",
        )

        assert ran.code == 0, ran.err
        body = ran.json()
        new_id = body["task_id"]
        assert body["retried_from"] == original
        assert body["task"]["status"] == "pending"
        assert (body["task"]["kwargs"], body["task"]["tags"]) == (
            {"card": "valid"},
            {"ticket": "OPS-1"},
        )
        done = await wait_for_status(client, new_id, ["success"])
        assert done["retried_from"] == original
        assert app.runs[-1] == (3, "valid")
        # The link is in the store: the app's list (read from it) and the command line see it.
        [old] = (await client.get("/tasks", params={"status": "failed"})).json()
        assert (old["task_id"], old["retried_as"]) == (original, new_id)
        stored = (await taskflow("show", original, "--url", app.url, "--json")).json()
        assert stored["retried_as"] == new_id
        audit = (await client.get("/tasks/audit")).json()
        assert [(e["action"], e["actor"], e["task_ids"]) for e in audit] == [
            ("replay", "alice", [original])
        ]
        assert audit[0]["detail"]["changes"]["kwargs"] == {"added": {"card": "valid"}}

        plain = await taskflow("retry", new_id, "--app", app.spec)
        assert plain.code == 1, plain.err  # it succeeded: nothing to retry
        again = await taskflow("retry", original, "--app", app.spec)
        one_line_error(again, f"already retried as {new_id}")


async def test_a_retry_made_while_no_app_runs_waits_for_one(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        original = await failed(app, client)

    ran = await taskflow("retry", original, "--app", app.spec)

    assert ran.code == 0, ran.err
    new_id = ran.out.split()[3].rstrip(".")
    assert ran.out.startswith(f"Retried {original} as {new_id}.")
    assert "recovery sweep of a running app instance (every 0.5 s)" in ran.out
    assert "no app instance is alive on this store" in ran.err
    listed = (await taskflow("list", "--url", app.url, "--status", "pending", "--json")).json()
    assert [item["task_id"] for item in listed["items"]] == [new_id]
    async with serve(app.app) as client:
        await wait_for_status(client, new_id, ["failed"])


async def test_retry_failed_asks_first_then_replays_the_window_once(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        ids = [await failed(app, client, order) for order in range(3)]
        args = ["retry-failed", "--app", app.spec, "--since", "1h"]

        unattended = await taskflow(*args)
        assert unattended.code == 2
        assert unattended.out.startswith(
            "3 tasks to retry (failed, interrupted, rejected; created after "
        )
        assert "pass --yes" in unattended.err
        declined = await taskflow(*args, stdin=Terminal("n\n"))
        assert declined.code == 1 and "nothing was retried" in declined.err
        assert "Retry 3 tasks? [y/N]" in declined.err
        assert (await client.get("/tasks/audit")).json() == []

        accepted = await taskflow(*args, stdin=Terminal("y\n"))
        assert accepted.code == 0, accepted.err
        assert accepted.out.startswith("3 tasks to retry (")
        assert "Dispatched 3, skipped 0." in accepted.out
        for line in accepted.out.splitlines():
            if " dispatched " in line:
                await wait_for_status(client, line.split()[2], ["failed"])

        # Only the three new failures are left; as JSON the count goes to stderr.
        second = await taskflow("retry-failed", "--app", app.spec, "--yes", "--json")
        assert second.code == 0, second.err
        assert second.err.startswith("3 tasks to retry")
        outcome = second.json()
        assert (outcome["dispatched"], outcome["skipped"]) == (3, 0)
        assert not {result["task_id"] for result in outcome["results"]} & set(ids)
        for result in outcome["results"]:
            await wait_for_status(client, result["new_task_id"], ["failed"])
        nothing = await taskflow("retry-failed", "--app", app.spec, "--func", "ping", "--yes")
        assert (nothing.code, nothing.out.splitlines()[0]) == (
            0,
            "0 tasks to retry (failed, interrupted, rejected; function ping).",
        )
        audit = (await client.get("/tasks/audit", params={"action": "bulk_retry"})).json()
        assert [entry["detail"]["dispatched"] for entry in audit] == [3, 3]


async def test_bulk_retry_reports_each_task_and_fails_when_one_is_skipped(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        one, two = await failed(app, client, 1), await failed(app, client, 2)
        done = await succeeded(app, client)

        ran = await taskflow("bulk-retry", one, two, "nope", done, "--app", app.spec, "--json")

        assert ran.code == 1
        body = ran.json()
        assert (body["dispatched"], body["skipped"]) == (2, 2)
        outcomes = {result["task_id"]: result["outcome"] for result in body["results"]}
        assert outcomes == {
            one: "dispatched",
            two: "dispatched",
            "nope": "not_found",
            done: "not_retryable",
        }
        for result in body["results"][:2]:
            await wait_for_status(client, result["new_task_id"], ["failed"])
        table = await taskflow("bulk-retry", one, "--app", app.spec)
        assert table.code == 1
        assert table.out.splitlines()[0].split() == ["TASK", "OUTCOME", "NEW", "TASK", "DETAIL"]
        assert " already_retried " in table.out and "Dispatched 0, skipped 1." in table.out


# -- cancelling -------------------------------------------------------------------------------


async def test_cancel_takes_over_a_pending_task_no_live_instance_holds(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        first, second = await failed(app, client, 1), await failed(app, client, 2)
    handed_off = [
        (await taskflow("retry", task_id, "--app", app.spec, "--json")).json()["task_id"]
        for task_id in (first, second)
    ]

    ran = await taskflow("cancel", handed_off[0], "--url", app.url, "--actor", "bob")

    assert (ran.code, ran.out.strip()) == (0, f"Cancelled {handed_off[0]} (charge).")
    async with serve(app.app) as client:
        # Once the sweep ran the other hand-off, the cancelled one has been passed over.
        await wait_for_status(client, handed_off[1], ["failed"])
        cancelled = (await client.get(f"/tasks/{handed_off[0]}")).json()
        assert cancelled["status"] == "cancelled" and cancelled["start_time"] is None
        assert app.runs == [(1, "expired"), (2, "expired"), (2, "expired")]
        audit = (await client.get("/tasks/audit", params={"action": "cancel"})).json()
        assert [(e["actor"], e["task_ids"], e["detail"]["orphan"]) for e in audit] == [
            ("bob", [handed_off[0]], True)
        ]
        finished = await taskflow("cancel", handed_off[0], "--url", app.url)
        one_line_error(finished, "cannot move from 'cancelled' to 'cancelled'")
        assert finished.code == 1


async def test_cancel_refuses_a_task_a_live_instance_holds(make_app: Callable[..., App]) -> None:
    app = make_app()
    async with serve(app.app) as client:
        task_id = app.tm.add_task(app.module.hold)
        await wait_for_status(client, task_id, ["running"])

        ran = await taskflow("cancel", task_id, "--url", app.url)

        assert ran.code == 1
        one_line_error(ran, app.tm.service.instance_id, "which is alive", "admin API", "dashboard")
        assert (await client.get(f"/tasks/{task_id}")).json()["status"] == "running"
        assert (await client.get("/tasks/audit")).json() == []
        app.module.release.set()
        await wait_for_status(client, task_id, ["success"])


# -- history, audit, schedules ----------------------------------------------------------------


async def test_prune_deletes_finished_history_and_is_audited(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        await failed(app, client)
        await succeeded(app, client)

        kept = await taskflow("prune", "--older-than", "30d", "--url", app.url)
        assert kept.code == 0 and kept.out.startswith(
            "Deleted 0 finished tasks that ended before "
        )
        pruned = (
            await taskflow("prune", "--older-than", "0min", "--url", app.url, "--json")
        ).json()
        assert pruned["deleted"] == 2
        # Python 3.10's fromisoformat does not read the "Z" suffix.
        cutoff = datetime.fromisoformat(pruned["cutoff"].replace("Z", "+00:00"))
        assert cutoff <= datetime.now(timezone.utc)
        assert (await client.get("/tasks")).json() == []
        audit = (await client.get("/tasks/audit", params={"action": "delete_history"})).json()
        assert [entry["detail"]["deleted"] for entry in audit] == [2, 0]
        bad = await taskflow("prune", "--older-than", "30x", "--url", app.url)
        assert bad.code == 2
        one_line_error(bad, "--older-than", "30x")


async def test_audit_lists_filters_and_pages_like_the_api(make_app: Callable[..., App]) -> None:
    app = make_app()
    async with serve(app.app) as client:
        one, two = await failed(app, client, 1), await failed(app, client, 2)
        for task_id, actor in [(one, "alice"), (two, "bob")]:
            ran = await taskflow("retry", task_id, "--app", app.spec, "--actor", actor)
            assert ran.code == 0, ran.err
        await taskflow("prune", "--older-than", "30d", "--url", app.url)

        api = (await client.get("/tasks/audit")).json()
        cli = (await taskflow("audit", "--url", app.url, "--json")).json()
        assert cli == {"items": api, "next_cursor": None}
        assert [entry["action"] for entry in api] == ["delete_history", "retry", "retry"]

        table = await taskflow("audit", "--url", app.url)
        header, *rows = table.out.splitlines()
        assert header.split() == ["AT", "ACTOR", "ACTION", "TASKS", "DETAIL"]
        assert [row.split()[2:4] for row in rows] == [
            [f"cli:{getpass.getuser()}", "delete_history"],
            ["bob", "retry"],
            ["alice", "retry"],
        ]
        by_bob = (await taskflow("audit", "--url", app.url, "--actor", "bob", "--json")).json()
        assert [entry["task_ids"] for entry in by_bob["items"]] == [[two]]
        retries = (await taskflow("audit", "--url", app.url, "--action", "retry", "--json")).json()
        assert len(retries["items"]) == 2
        about_one = (await taskflow("audit", "--url", app.url, "--task", one, "--json")).json()
        assert [entry["actor"] for entry in about_one["items"]] == ["alice"]

        first = (await taskflow("audit", "--url", app.url, "--limit", "2", "--json")).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = (
            await taskflow("audit", "--url", app.url, "--cursor", first["next_cursor"], "--json")
        ).json()
        assert [e["entry_id"] for e in first["items"] + rest["items"]] == [
            e["entry_id"] for e in api
        ]
        bad = await taskflow("audit", "--url", app.url, "--action", "sneeze")
        assert bad.code == 2 and "unknown action 'sneeze'" in bad.err


async def test_schedules_show_the_apps_entries_and_the_stored_one_offs(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        run_at = datetime.now(timezone.utc) + timedelta(days=1)
        await app.tm.schedule_once(
            app.module.charge, 4, run_at=run_at, run_key="invoice-4", tags={"k": "v"}
        )

        with_app = (await taskflow("schedules", "--app", app.spec, "--json")).json()
        api = (await client.get("/tasks/schedules")).json()
        assert with_app["entries"] == api["entries"]
        assert [entry["name"] for entry in with_app["entries"]] == ["ping"]
        assert with_app["one_off_armed"] == api["one_off_armed"] == 1
        [run] = with_app["one_offs"]
        assert (run["run_key"], run["func_name"], run["tags"]) == (
            "invoice-4",
            "charge",
            {"k": "v"},
        )

        without_app = (await taskflow("schedules", "--url", app.url, "--json")).json()
        assert without_app["entries"] is None and without_app["one_offs"] == with_app["one_offs"]
        table = await taskflow("schedules", "--app", app.spec)
        assert "ping  every 1h 00m" in table.out
        assert "One-off runs waiting (1):" in table.out and "invoice-4  charge" in table.out
        plain = await taskflow("schedules", "--url", app.url)
        assert plain.out.startswith("Periodic entries: declared in the app's code; pass --app")


# -- errors -----------------------------------------------------------------------------------


async def test_every_error_is_one_precise_line_with_its_exit_code(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_app()
    async with serve(app.app) as client:
        await failed(app, client)
    url = app.url

    for argv, code, fragments in [
        (["show", "nope", "--url", url], 1, ["no task with id 'nope'"]),
        (["cancel", "nope", "--url", url], 1, ["no task with id 'nope'"]),
        (["retry", "nope", "--app", app.spec], 1, ["no task with id 'nope'"]),
        (["list", "--since", "5x", "--url", url], 2, ["--since", "'5x'", "24h, 7d"]),
        (["list", "--since", "0h", "--url", url], 2, ["--since", "at least 1h"]),
        (["retry-failed", "--since", "yesterday", "--app", app.spec], 2, ["--since"]),
        (["retry", "some-id", "--url", url], 2, ["--app module:attribute", "registered"]),
        (["bulk-retry", "a", "b", "--url", url], 2, ["--app"]),
        (["retry-failed", "--url", url, "--yes"], 2, ["--app"]),
        (["list", "--url", "memory://"], 2, ["memory://", "no other process"]),
        (["list", "--url", "sqlite:///:memory:"], 2, ["in-memory SQLite"]),
        (["list", "--url", "sqlite:///missing.db"], 2, ["no SQLite database at", "missing.db"]),
        (["list", "--url", "ftp://host/x"], 2, ["unknown storage URL"]),
        (["list"], 2, ["no storage given", "--url", "TASKFLOW_STORAGE_URL", "--app"]),
        (["list", "--url", url, "--cursor", "garbage"], 2, ["--cursor", "invalid cursor"]),
        (["list", "--url", url, "--limit", "0"], 2, ["--limit", "1 to 1000"]),
        (["list", "--url", url, "--status", "lost"], 2, ["unknown status 'lost'"]),
        (["retry", "x", "--app", app.spec, "--kwargs", "[1]"], 2, ["--kwargs", "JSON object"]),
        (["retry", "x", "--app", app.spec, "--kwargs", "{}"], 2, ["--show-args"]),
        (["retry-failed", "--app", app.spec, "--status", "success"], 2, ["'success'"]),
        (["list", "--app", "no_such_module"], 2, ["no module named 'no_such_module'"]),
        (["list", "--app", f"{app.module.__name__}:nothing"], 2, ["no attribute 'nothing'"]),
        (["frobnicate"], 2, ["invalid choice: 'frobnicate'"]),
        (["show"], 2, ["the following arguments are required: ID"]),
        (["list", "--url", url, "--actor", ""], 2, ["--actor must not be empty"]),
    ]:
        ran = await taskflow(*argv)
        assert ran.code == code, (argv, ran)
        one_line_error(ran, *fragments)

    (tmp_path / "broken_app.py").write_text("raise RuntimeError('no config')\n")
    broken = await taskflow("list", "--app", "broken_app")
    assert broken.code == 1
    one_line_error(broken, "importing 'broken_app' failed", "RuntimeError: no config")
    (tmp_path / "memory_app.py").write_text(
        "from fastapi_taskflow import TaskManager\ntm = TaskManager(storage_url='memory://')\n"
    )
    memory = await taskflow("list", "--app", "memory_app:tm")
    one_line_error(memory, "memory://", "--url")
    assert memory.code == 2
    with_url = await taskflow("list", "--app", "memory_app", "--url", url, "--json")
    assert with_url.code == 0 and len(with_url.json()["items"]) == 1
    by_app_object = await taskflow("list", "--app", f"{app.module.__name__}:app", "--json")
    assert by_app_object.code == 0, by_app_object.err  # the FastAPI app's module holds one manager
    from_env = await taskflow("list", "--json", TASKFLOW_STORAGE_URL=url)
    assert from_env.code == 0 and len(from_env.json()["items"]) == 1
    helped = await taskflow("--help")
    assert helped.code == 0 and helped.out.startswith("usage: taskflow")


# -- every shared store -----------------------------------------------------------------------


async def test_list_show_retry_and_audit_on_every_shared_store(
    shared_store: str, make_app: Callable[..., App]
) -> None:
    app = make_app(shared_store)
    async with serve(app.app) as client:
        original = await failed(app, client, order=11)

        listed = (await taskflow("list", "--url", shared_store, "--json")).json()
        assert [item["task_id"] for item in listed["items"]] == [original]
        shown = (
            await taskflow("show", original, "--url", shared_store, "--json", "--show-args")
        ).json()
        assert shown == (await client.get(f"/tasks/{original}")).json()

        retried = await taskflow(
            "retry", original, "--app", app.spec, "--actor", "carol", "--json"
        )
        assert retried.code == 0, retried.err
        new_id = retried.json()["task_id"]
        await wait_for_status(client, new_id, ["failed"])
        assert app.runs == [(11, "expired"), (11, "expired")]

        audit = (await taskflow("audit", "--url", shared_store, "--json")).json()
        assert [(e["action"], e["actor"], e["task_ids"]) for e in audit["items"]] == [
            ("retry", "carol", [original])
        ]
        assert audit["items"][0]["detail"]["retried_as"] == new_id


# -- the installed command --------------------------------------------------------------------


def installed_command() -> Path:
    script = Path(sys.executable).parent / ("taskflow.exe" if os.name == "nt" else "taskflow")
    if not script.exists():
        pytest.fail(
            f"the taskflow console script is not installed next to {sys.executable}; "
            "reinstall the project (make install, or pip install -e .)"
        )
    return script


async def run_process(*argv: str | Path, cwd: Path) -> Ran:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKFLOW_")}
    process = await asyncio.create_subprocess_exec(
        *(str(part) for part in argv),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=PATIENCE * 3)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.mark.slow
async def test_the_console_script_retries_through_a_separate_process(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    script = installed_command()
    app = make_app()
    async with serve(app.app) as client:
        original = await failed(app, client, order=21)

        listed = await run_process(script, "list", "--url", app.url, "--json", cwd=tmp_path)
        assert listed.code == 0, listed.err
        assert [item["task_id"] for item in listed.json()["items"]] == [original]

        # The subprocess imports the app module itself: its own TaskManager, nothing shared.
        retried = await run_process(
            script, "retry", original, "--app", app.spec, "--json", cwd=tmp_path
        )
        assert retried.code == 0, retried.err
        new_id = retried.json()["task_id"]
        await wait_for_status(client, new_id, ["failed"])
        await wait_until(lambda: len(app.runs) == 2, "the handed-off retry ran in the app")

        refused = await run_process(script, "show", "nope", "--url", app.url, cwd=tmp_path)
        assert refused.code == 1
        one_line_error(refused, "no task with id 'nope'")

    as_module = await run_process(sys.executable, "-m", "fastapi_taskflow", "--help", cwd=tmp_path)
    assert as_module.code == 0 and as_module.out.startswith("usage: taskflow")
