"""The thread executor runs plain functions in threads, with the task's scope and context."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from fastapi_taskflow.adapters.executors import ThreadExecutor
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Abandoned, Invocation, current_task_scope

trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)

#: Upper bound for waits that should end almost at once; reaching it means the test failed.
PATIENCE = 5.0


def sync_job(x: int) -> int:
    return x


async def async_job(x: int) -> int:
    return x


class AsyncCallable:
    async def __call__(self) -> None:
        return None


def call(func: Callable[..., Any], scope: Any, *args: Any, **kwargs: Any) -> Invocation:
    return Invocation(func=func, args=args, kwargs=kwargs, scope=scope)


@pytest.mark.parametrize(
    "func",
    [sync_job, functools.partial(sync_job, 1), lambda: None, print],
    ids=["plain function", "partial", "lambda", "builtin"],
)
def test_accepts_plain_callables(func: Callable[..., Any]) -> None:
    ThreadExecutor().check_function(func)


@pytest.mark.parametrize(
    "func",
    [async_job, functools.partial(async_job, 1), AsyncCallable()],
    ids=["coroutine function", "partial", "async __call__"],
)
def test_rejects_coroutine_functions_and_points_to_the_async_executor(
    func: Callable[..., Any],
) -> None:
    with pytest.raises(ValueError, match="coroutine function") as raised:
        ThreadExecutor().check_function(func)
    assert 'executor="async"' in str(raised.value)
    assert "async_job" in str(raised.value) or "AsyncCallable" in str(raised.value)


def test_rejects_non_callables() -> None:
    with pytest.raises(ValueError, match="not callable"):
        ThreadExecutor().check_function("job")  # type: ignore[arg-type]


@pytest.mark.parametrize("max_workers", [0, -1])
def test_rejects_a_pool_without_threads(max_workers: int) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ThreadExecutor(max_workers=max_workers)


def test_is_the_thread_kind() -> None:
    assert ThreadExecutor().kind is ExecutorKind.THREAD


async def test_default_executor_runs_the_function_in_another_thread(make_scope: Any) -> None:
    def where() -> int:
        return threading.get_ident()

    executor = ThreadExecutor()
    assert await executor.run(call(where, make_scope())) != threading.get_ident()


async def test_returns_the_result_and_raises_what_the_function_raised(make_scope: Any) -> None:
    def add(a: int, b: int) -> int:
        return a + b

    def fail() -> None:
        raise KeyError("missing")

    executor = ThreadExecutor(max_workers=1)
    try:
        assert await executor.run(call(add, make_scope(), 2, b=3)) == 5
        with pytest.raises(KeyError, match="missing"):
            await executor.run(call(fail, make_scope()))
    finally:
        await executor.shutdown(PATIENCE)


async def test_sys_exit_in_a_task_fails_the_call_instead_of_stopping_the_loop(
    make_scope: Any,
) -> None:
    def leave() -> None:
        raise SystemExit(3)

    with pytest.raises(RuntimeError, match=r"SystemExit\(3\)") as raised:
        await ThreadExecutor().run(call(leave, make_scope()))
    assert isinstance(raised.value.__cause__, SystemExit)


async def test_dedicated_pool_threads_are_named_taskflow_sync(make_scope: Any) -> None:
    def thread_name() -> str:
        return threading.current_thread().name

    executor = ThreadExecutor(max_workers=2)
    try:
        name = await executor.run(call(thread_name, make_scope()))
    finally:
        await executor.shutdown(PATIENCE)
    assert name.startswith("taskflow-sync")


@pytest.mark.parametrize("max_workers", [None, 2], ids=["default executor", "dedicated pool"])
async def test_scope_and_captured_context_are_visible_and_do_not_leak(
    make_scope: Any, max_workers: int | None
) -> None:
    def read() -> tuple[str | None, object]:
        value = trace_id.get()
        trace_id.set("changed by the task")
        return value, current_task_scope.get()

    captured = contextvars.copy_context()
    captured.run(trace_id.set, "trace-42")
    scope = make_scope()
    executor = ThreadExecutor(max_workers=max_workers)
    try:
        seen = await executor.run(
            Invocation(func=read, args=(), kwargs={}, scope=scope, context=captured)
        )
    finally:
        await executor.shutdown(PATIENCE)

    assert seen == ("trace-42", scope)
    assert captured[trace_id] == "trace-42"
    assert captured.get(current_task_scope) is None
    assert current_task_scope.get() is None
    assert trace_id.get() is None


async def test_concurrent_calls_each_see_their_own_scope(make_scope: Any) -> None:
    both_running = threading.Barrier(2, timeout=PATIENCE)

    def own_task_id() -> str:
        both_running.wait()  # both calls are inside their threads at the same time
        scope = current_task_scope.get()
        assert scope is not None
        return scope.context.task_id

    executor = ThreadExecutor(max_workers=2)
    try:
        first, second = await asyncio.gather(
            executor.run(call(own_task_id, make_scope("first"))),
            executor.run(call(own_task_id, make_scope("second"))),
        )
    finally:
        await executor.shutdown(PATIENCE)
    assert (first, second) == ("first", "second")


@pytest.mark.parametrize("max_workers", [None, 1], ids=["default executor", "dedicated pool"])
async def test_cancelling_the_caller_returns_at_once_while_the_thread_finishes(
    make_scope: Any, max_workers: int | None
) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def blocking() -> None:
        started.set()
        release.wait(PATIENCE)
        finished.set()

    executor = ThreadExecutor(max_workers=max_workers)
    waiting = asyncio.create_task(executor.run(call(blocking, make_scope())))
    try:
        assert await asyncio.to_thread(started.wait, PATIENCE)
        waiting.cancel()
        await asyncio.wait({waiting}, timeout=PATIENCE)

        assert waiting.cancelled()
        assert not finished.is_set()  # the thread is still inside the function
    finally:
        release.set()
    assert await asyncio.to_thread(finished.wait, PATIENCE)
    await executor.shutdown(PATIENCE)


async def test_shutdown_waits_for_running_calls(make_scope: Any) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def blocking() -> str:
        started.set()
        release.wait(PATIENCE)
        finished.set()
        return "done"

    executor = ThreadExecutor(max_workers=1)
    running = asyncio.create_task(executor.run(call(blocking, make_scope())))
    assert await asyncio.to_thread(started.wait, PATIENCE)
    asyncio.get_running_loop().call_soon(release.set)  # runs only if shutdown yields the loop

    await executor.shutdown(timeout=PATIENCE * 2)

    assert finished.is_set()
    assert await running == "done"


async def test_shutdown_gives_up_after_the_timeout(make_scope: Any) -> None:
    started, release = threading.Event(), threading.Event()

    def blocking() -> str:
        started.set()
        release.wait(PATIENCE)
        return "done"

    executor = ThreadExecutor(max_workers=1)
    running = asyncio.create_task(executor.run(call(blocking, make_scope())))
    queued = asyncio.create_task(executor.run(call(blocking, make_scope())))
    try:
        assert await asyncio.to_thread(started.wait, PATIENCE)
        await executor.shutdown(timeout=0.01)
        assert not running.done()
    finally:
        release.set()

    assert await running == "done"  # the running call still reports back
    with pytest.raises(RuntimeError, match="shut down before the call started"):
        await queued
    # A task manager may start again after a shutdown: the next call gets a fresh pool.
    release.set()
    assert await executor.run(call(blocking, make_scope())) == "done"


async def test_abandon_leaves_a_started_call_running_and_drops_a_queued_one(
    make_scope: Any,
) -> None:
    started, release = threading.Event(), threading.Event()
    queued_ran = threading.Event()

    def blocking() -> None:
        started.set()
        release.wait(PATIENCE)

    executor = ThreadExecutor(max_workers=1)
    first = call(blocking, make_scope())
    second = call(queued_ran.set, make_scope())
    running = asyncio.create_task(executor.run(first))
    try:
        assert await asyncio.to_thread(started.wait, PATIENCE)
        waiting = asyncio.create_task(executor.run(second))
        await asyncio.sleep(0)

        assert await executor.abandon(first) is Abandoned.LEFT_RUNNING
        assert await executor.abandon(second) is Abandoned.STOPPED  # no thread free for it
        waiting.cancel()
        running.cancel()
        await asyncio.wait({running, waiting}, timeout=PATIENCE)
    finally:
        release.set()
    await executor.shutdown(PATIENCE)
    assert not queued_ran.is_set()
