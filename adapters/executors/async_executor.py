"""Running coroutine functions on the application's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi_taskflow.adapters.executors.callables import callable_name, is_async_callable
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import (
    Abandoned,
    Invocation,
    TaskScope,
    current_task_scope,
)

if TYPE_CHECKING:
    from fastapi_taskflow.ports.execution import Executor


class AsyncExecutor:
    """Awaits coroutine functions as child tasks on the running event loop.

    Each call runs in its own asyncio task, in a copy of the enqueuing code's context (so
    contextvars such as trace ids set before ``add_task()`` are visible) with
    ``current_task_scope`` set to the invocation's scope. Nothing leaks back into the caller's
    context or into the captured one.
    """

    kind: ExecutorKind = ExecutorKind.ASYNC

    def check_function(self, func: Callable[..., Any]) -> None:
        """Accept only callables that return a coroutine.

        Raises:
            ValueError: ``func`` is a plain function (or not callable at all).
        """
        if not callable(func):
            raise ValueError(f"{func!r} is not callable, so it cannot be a task")
        if not is_async_callable(func):
            raise ValueError(
                f"{callable_name(func)} is not a coroutine function, so it cannot run on the "
                "event loop; declare it with 'async def', or pass executor=\"thread\" to run "
                "it in a worker thread"
            )

    def check_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Nothing to check: the coroutine receives the very objects passed to ``add_task()``."""

    async def run(self, invocation: Invocation) -> Any:
        """Await the coroutine in a child task and return its result.

        Cancelling the awaiting coroutine cancels the child task; the ``CancelledError``
        reaches the caller once the child has finished unwinding. (A coroutine that swallows
        its cancellation and returns a value hands that value to the caller, as plain asyncio
        does.)
        """
        loop = asyncio.get_running_loop()
        task = invocation.scope.context
        coro = _call_in_scope(
            invocation.scope, invocation.func, invocation.args, invocation.kwargs
        )
        name = f"taskflow {task.func_name} {task.task_id}"
        if invocation.context is None:
            child = loop.create_task(coro, name=name)
        else:
            # A task runs in a copy of the context current when it is created, so creating it
            # inside the captured context runs the coroutine there. Unlike
            # create_task(context=...), which needs Python 3.11, this works on 3.10 too.
            child = invocation.context.copy().run(loop.create_task, coro, name=name)
        return await child

    async def abandon(self, invocation: Invocation) -> Abandoned:
        """Nothing to do beforehand: cancelling the awaiting :meth:`run`, which follows,
        cancels the coroutine (it sees ``CancelledError`` where it is waiting)."""
        return Abandoned.STOPPED

    async def shutdown(self, timeout: float) -> None:
        """Nothing to release: running coroutines belong to the event loop and their callers."""


async def _call_in_scope(
    scope: TaskScope,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    # Runs as its own task, in its own context copy: setting the scope here cannot leak.
    current_task_scope.set(scope)
    return await func(*args, **kwargs)


if TYPE_CHECKING:
    _conforms: Executor = AsyncExecutor()
