"""The opt-in pytest plugin, run on a user's test files as pytest would run them."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from fastapi import Depends, FastAPI
from fastapi_taskflow import ManagedBackgroundTasks, TaskManager

pytest_plugins = ["fastapi_taskflow.pytest_plugin"]

task_manager = TaskManager()
app = FastAPI()
task_manager.init_app(app)
sent = []


@task_manager.task(retries=2, delay=30)
async def send_welcome(email):
    sent.append(email)
    if len(sent) == 1:
        raise ConnectionError("smtp down")


@app.post("/signup")
async def signup(email: str, tasks: ManagedBackgroundTasks = Depends(task_manager.get_tasks)):
    return {"task_id": tasks.add_task(send_welcome, email)}


@pytest.fixture
def taskflow_manager():
    return task_manager
"""

USER_TESTS = """
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager

from conftest import app, send_welcome, task_manager


async def test_signup_sends_a_welcome_email(taskflow):
    async with LifespanManager(app) as lifespan:
        transport = httpx.ASGITransport(app=lifespan.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            await client.post("/signup", params={"email": "new@example.com"})
        started = taskflow.now()
        await taskflow.run_until_idle()
    record = taskflow.assert_enqueued(send_welcome, "new@example.com")
    assert record.status.value == "success"
    assert record.attempt == 2
    assert taskflow.now() - started == timedelta(seconds=30)


async def test_without_the_app_running(taskflow):
    task_manager.add_task(send_welcome, "direct@example.com")
    [record] = await taskflow.run_until_idle()
    assert record.status.value == "success"
    assert taskflow.service.started  # the fixture stops it when the test ends


def test_plain_sync_tests_see_what_was_enqueued(taskflow):
    task_manager.add_task(send_welcome, "sync@example.com")
    taskflow.assert_enqueued(send_welcome, "sync@example.com")
    taskflow.assert_not_enqueued("nothing-else")


def test_a_failing_assertion_reads_well(taskflow):
    task_manager.add_task(send_welcome, "someone@example.com")
    taskflow.assert_enqueued(send_welcome, "nobody@example.com")


def test_the_manager_is_itself_again_outside_the_fixture():
    from fastapi_taskflow.adapters.clock import SystemClock

    assert isinstance(task_manager.container.clock(), SystemClock)
"""


@pytest.mark.slow
def test_the_fixture_drives_the_users_manager(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_signup=USER_TESTS)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")

    result.assert_outcomes(passed=4, failed=1)
    assert "Task was destroyed" not in result.stdout.str() + result.stderr.str()
    result.stdout.re_match_lines(
        [
            re.escape(
                "E       AssertionError: expected send_welcome('nobody@example.com') to be "
                "enqueued; enqueued:"
            ),
            re.escape("E         - send_welcome('someone@example.com') [pending, id ") + ".+]",
        ]
    )


@pytest.mark.slow
def test_without_the_manager_fixture_the_error_says_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["fastapi_taskflow.pytest_plugin"]\n')
    pytester.makepyfile(test_missing="def test_uses_the_kit(taskflow):\n    pass\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.stdout.fnmatch_lines(["*define a fixture named taskflow_manager in conftest.py*"])
    assert result.ret != 0
