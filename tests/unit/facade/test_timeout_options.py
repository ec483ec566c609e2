"""``timeout=`` on the decorators and on ``add_task()``: bad values fail where they are given."""

from __future__ import annotations

import pytest

from fastapi_taskflow import TaskManager
from fastapi_taskflow.entrypoints.fastapi.timeout_keyword import takes_timeout
from fastapi_taskflow.testing import taskflow_test


async def send_digest() -> None:
    return None


def test_the_decorators_refuse_a_bad_timeout_before_registering() -> None:
    tm = TaskManager()
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.task(timeout=0)
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None"):
        tm.task(timeout="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.schedule(every=60, timeout=-1)(send_digest)
    assert tm.registry.get(send_digest) is None


def test_the_decorators_keep_the_timeout_in_the_tasks_config() -> None:
    tm = TaskManager()
    tm.task(timeout=30)(send_digest)
    entry = tm.registry.get(send_digest)
    assert entry is not None and entry.config.timeout == 30.0


async def test_add_task_refuses_a_bad_timeout_without_creating_a_task() -> None:
    tm = TaskManager()
    tm.task()(send_digest)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.add_task(send_digest, timeout=0.0)
    assert len(tm.service.recorder.store) == 0


async def test_a_function_with_its_own_timeout_parameter_still_receives_it() -> None:
    # Code written before add_task() had a timeout option keeps its meaning.
    tm = TaskManager()
    received: list[float] = []

    @tm.task(timeout=30)
    async def fetch(url: str, timeout: float = 1.0) -> None:
        received.append(timeout)

    @tm.task()
    async def crawl(url: str) -> None:
        return None

    async with taskflow_test(tm) as kit:
        own = tm.add_task(fetch, "https://example.org", timeout=10)
        limited = tm.add_task(crawl, "https://example.org", timeout=10)
        await kit.run_until_idle()
        fetched, crawled = kit.task(own), kit.task(limited)
    assert received == [10]
    assert fetched.kwargs == {"timeout": 10}
    assert fetched.timeout == 30  # the decorator's limit, not the function's argument
    assert crawled.timeout == 10 and crawled.kwargs == {}


def test_only_a_named_timeout_parameter_counts_as_the_functions_own() -> None:
    def named(timeout: float) -> None: ...
    def keyword_only(*, timeout: float) -> None: ...
    def positional_only(timeout: float, /) -> None: ...
    def open_ended(**options: object) -> None: ...

    assert takes_timeout(named) and takes_timeout(keyword_only)
    assert not takes_timeout(positional_only)
    assert not takes_timeout(open_ended)
    assert not takes_timeout(len)
