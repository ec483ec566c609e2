"""The async executor awaits coroutines on the loop with the task's scope and trace context."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any

import pytest

from fastapi_taskflow.adapters.executors import AsyncExecutor
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Invocation, current_task_scope

trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)


async def async_job(x: int) -> int:
    return x


def sync_job(x: int) -> int:
    return x


class AsyncCallable:
    async def __call__(self) -> None:
        return None


class SyncCallable:
    def __call__(self) -> None:
        return None


@pytest.mark.parametrize(
    "func",
    [async_job, functools.partial(async_job, 1), AsyncCallable()],
    ids=["coroutine function", "partial", "async __call__"],
)
def test_accepts_callables_that_return_coroutines(func: Callable[..., Any]) -> None:
    AsyncExecutor().check_function(func)


@pytest.mark.parametrize(
    "func",
    [sync_job, functools.partial(sync_job, 1), SyncCallable(), lambda: None],
    ids=["plain function", "partial", "sync __call__", "lambda"],
)
def test_rejects_plain_callables_and_points_to_the_thread_executor(
    func: Callable[..., Any],
) -> None:
    with pytest.raises(ValueError, match="not a coroutine function") as raised:
        AsyncExecutor().check_function(func)
    assert 'executor="thread"' in str(raised.value)


def test_names_the_rejected_function() -> None:
    with pytest.raises(ValueError, match=r"test_async_executor\.sync_job"):
        AsyncExecutor().check_function(sync_job)


def test_rejects_non_callables() -> None:
    with pytest.raises(ValueError, match="not callable"):
        AsyncExecutor().check_function(42)  # type: ignore[arg-type]


def test_is_the_async_kind() -> None:
    assert AsyncExecutor().kind is ExecutorKind.ASYNC


async def test_returns_the_result_and_raises_what_the_coroutine_raised(make_scope: Any) -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    async def fail() -> None:
        raise KeyError("missing")

    executor = AsyncExecutor()
    scope = make_scope()
    assert await executor.run(Invocation(func=add, args=(2,), kwargs={"b": 3}, scope=scope)) == 5
    with pytest.raises(KeyError, match="missing"):
        await executor.run(Invocation(func=fail, args=(), kwargs={}, scope=scope))


async def test_scope_is_visible_inside_and_does_not_leak(make_scope: Any) -> None:
    async def own_scope() -> object:
        return current_task_scope.get()

    scope = make_scope()
    seen = await AsyncExecutor().run(Invocation(func=own_scope, args=(), kwargs={}, scope=scope))

    assert seen is scope
    assert current_task_scope.get() is None


async def test_runs_in_the_captured_context_without_changing_it(make_scope: Any) -> None:
    async def read_trace() -> tuple[str | None, object]:
        value = trace_id.get()
        trace_id.set("changed by the task")
        return value, current_task_scope.get()

    captured = contextvars.copy_context()
    captured.run(trace_id.set, "trace-42")
    scope = make_scope()

    seen = await AsyncExecutor().run(
        Invocation(func=read_trace, args=(), kwargs={}, scope=scope, context=captured)
    )

    assert seen == ("trace-42", scope)
    assert captured[trace_id] == "trace-42"
    assert captured.get(current_task_scope) is None
    assert trace_id.get() is None


async def test_cancelling_the_caller_cancels_the_coroutine(make_scope: Any) -> None:
    started = asyncio.Event()
    child_cancelled = asyncio.Event()

    async def wait_forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            child_cancelled.set()
            raise

    call = asyncio.create_task(
        AsyncExecutor().run(Invocation(func=wait_forever, args=(), kwargs={}, scope=make_scope()))
    )
    await started.wait()
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    assert child_cancelled.is_set()
