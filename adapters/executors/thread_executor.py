"""Running plain (blocking) functions in worker threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi_taskflow.adapters.executors.callables import callable_name, is_async_callable
from fastapi_taskflow.adapters.executors.future_bridge import (
    InFlightCalls,
    await_call,
    wait_until_done,
)
from fastapi_taskflow.adapters.executors.scoped_call import call_in_scope
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Abandoned, Invocation

if TYPE_CHECKING:
    from fastapi_taskflow.ports.execution import Executor

#: Names of the dedicated pool's threads (``taskflow-sync_0``, ``taskflow-sync_1``, ...).
THREAD_NAME_PREFIX = "taskflow-sync"


class ThreadExecutor:
    """Calls plain functions in a thread pool, so blocking code does not stall the event loop.

    Args:
        max_workers: ``None`` runs calls on the event loop's default executor (shared with
            ``asyncio.to_thread`` and ``run_in_executor(None, ...)``). A number gives the tasks
            a dedicated pool of that many threads named ``taskflow-sync_N``, created on first
            use and released by :meth:`shutdown`.

    Raises:
        ValueError: ``max_workers`` is below 1.
    """

    kind: ExecutorKind = ExecutorKind.THREAD

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1 (or None), got {max_workers}")
        self._max_workers = max_workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._calls = InFlightCalls()
        # Set once the call of each invocation in progress has begun, by id of the invocation.
        self._started: dict[int, threading.Event] = {}

    def check_function(self, func: Callable[..., Any]) -> None:
        """Accept plain callables; reject coroutine functions, which need the event loop.

        Raises:
            ValueError: ``func`` is a coroutine function or not callable.
        """
        if not callable(func):
            raise ValueError(f"{func!r} is not callable, so it cannot be a task")
        if is_async_callable(func):
            raise ValueError(
                f"{callable_name(func)} is a coroutine function; in a thread it would only "
                'create a coroutine and never run it. Pass executor="async" to await it on '
                "the event loop"
            )

    def check_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Nothing to check: the thread receives the very objects passed to ``add_task()``."""

    async def run(self, invocation: Invocation) -> Any:
        """Call the function in a worker thread and return its result.

        The call runs in a copy of the enqueuing code's context (of the current one when the
        invocation carries none) with ``current_task_scope`` set to the invocation's scope.
        Cancelling the awaiting coroutine stops the wait at once; a call that has already
        started keeps its thread until it returns (Python cannot stop a thread), and a call
        still queued for a free thread never starts.

        Raises:
            RuntimeError: the executor was shut down before the call started.
        """
        # A Context cannot be entered by two threads at once, so each call gets its own copy.
        base = invocation.context if invocation.context is not None else contextvars.copy_context()
        started = threading.Event()
        call = functools.partial(
            _mark_started,
            started,
            base.copy().run,
            call_in_scope,
            invocation.scope,
            invocation.func,
            invocation.args,
            invocation.kwargs,
        )
        key = id(invocation)
        self._started[key] = started
        try:
            if self._max_workers is None:
                return await asyncio.get_running_loop().run_in_executor(None, call)
            future = self._dedicated_pool().submit(call)
            self._calls.add(future)
            return await await_call(
                future, not_started="the thread executor shut down before the call started"
            )
        finally:
            self._started.pop(key, None)

    async def abandon(self, invocation: Invocation) -> Abandoned:
        """Python cannot stop a thread: a call that has begun is left to run to its end.

        Its thread stays busy until the function returns, and whatever it returns or raises is
        thrown away. A call still waiting for a free thread never starts.
        """
        started = self._started.get(id(invocation))
        if started is not None and started.is_set():
            return Abandoned.LEFT_RUNNING
        return Abandoned.STOPPED

    async def shutdown(self, timeout: float) -> None:
        """Release the dedicated pool, waiting up to ``timeout`` seconds for running calls.

        Calls still queued for a free thread are cancelled (their ``run`` raises
        ``RuntimeError``). Calls still running after ``timeout`` keep their threads until they
        return; the interpreter waits for them at exit, as for any ``ThreadPoolExecutor``. With
        the default executor there is nothing to release: the event loop owns it.
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        await wait_until_done(self._calls.snapshot(), timeout)

    def _dedicated_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix=THREAD_NAME_PREFIX
            )
        return self._pool


def _mark_started(started: threading.Event, call: Callable[..., Any], *args: Any) -> Any:
    started.set()
    return call(*args)


if TYPE_CHECKING:
    _conforms: Executor = ThreadExecutor()
