"""Running CPU-bound, module-level functions in a pool of worker processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import sys
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from fastapi_taskflow.adapters.executors.callables import (
    callable_name,
    is_async_callable,
    unwrap_partial,
)
from fastapi_taskflow.adapters.executors.future_bridge import (
    InFlightCalls,
    await_call,
    wait_until_done,
)
from fastapi_taskflow.adapters.executors.process_worker import (
    ContextFields,
    WorkerOutcome,
    ignore_interrupts,
    run_call,
)
from fastapi_taskflow.adapters.executors.worker_lanes import Lane, WorkerLanes
from fastapi_taskflow.adapters.serialization.pickling import (
    USES_CLOUDPICKLE,
    pickle_value,
    unpickle_value,
)
from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Abandoned, Invocation

if TYPE_CHECKING:
    from fastapi_taskflow.ports.execution import Executor

_PROCESS_RULE = (
    "process tasks must be plain (non-async) functions defined at module level, so a worker "
    "process can import them by name"
)

#: Seconds a terminated worker gets to exit before it is killed.
_TERMINATE_GRACE = 5.0


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text.

    Set as ``__cause__`` of the exception re-raised in the parent, so a formatted stack trace
    of the task's failure shows the frames that ran in the worker.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class ProcessExecutor:
    """Calls functions in worker processes, for CPU-bound work that would hold the GIL.

    The function, its arguments and the task's identity are pickled (with cloudpickle when the
    ``process`` extra is installed, else with pickle) and sent to a worker. Inside the worker,
    ``task_log()`` and ``get_task_context()`` work as usual; the log lines travel back with the
    result and are replayed, with their original timestamps, when the call ends. Contextvars
    of the enqueuing code do not cross the process boundary.

    Workers start by importing the task's module by name, as with any spawn or forkserver pool:
    a script that starts the app itself (``python app.py``) must do so under
    ``if __name__ == "__main__":``; ``uvicorn module:app`` needs nothing.

    Args:
        max_workers: Most worker processes; ``None`` means the number of CPUs this process
            may use. Workers start when first needed; a worker killed because its call ran
            past its time limit (:meth:`abandon`) is replaced by a new one.
        shutdown_timeout: Seconds :meth:`shutdown` waits for running calls when not told.
        mp_context: Start method: ``"spawn"``, ``"forkserver"`` or ``"fork"``. ``None``
            picks ``"forkserver"`` where Python 3.14 makes it the default (POSIX except macOS)
            and ``"spawn"`` elsewhere; ``"fork"`` is unsafe in a process that runs threads,
            as every FastAPI app does.

    Raises:
        ValueError: ``max_workers`` is below 1, ``shutdown_timeout`` is negative, or
            ``mp_context`` names no start method available here.
    """

    kind: ExecutorKind = ExecutorKind.PROCESS

    def __init__(
        self,
        max_workers: int | None = None,
        shutdown_timeout: float = 30.0,
        mp_context: str | None = None,
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1 (or None), got {max_workers}")
        if shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout cannot be negative, got {shutdown_timeout}")
        self._shutdown_timeout = shutdown_timeout
        self._mp_context = multiprocessing.get_context(mp_context or _default_start_method())
        self._size = max_workers if max_workers is not None else _cpu_count()
        self._lanes = self._new_lanes()
        self._calls = InFlightCalls()
        # The lane and future of each call in progress, by id of its invocation.
        self._running: dict[int, tuple[Lane, concurrent.futures.Future[Any]]] = {}
        # Lanes retired by shutdown(); a later run() starts fresh lanes, so a task manager can
        # be started again after it was shut down (tests, reloads).
        self._terminated: weakref.WeakSet[Lane] = weakref.WeakSet()

    def check_function(self, func: Callable[..., Any]) -> None:
        """Accept module-level plain functions (and partials of them).

        Raises:
            ValueError: ``func`` is not callable, is a coroutine function, a lambda, or a
                function defined inside another function.
        """
        if not callable(func):
            raise ValueError(f"{func!r} is not callable; {_PROCESS_RULE}")
        name = callable_name(func)
        if is_async_callable(func):
            raise ValueError(
                f'{name} is a coroutine function; {_PROCESS_RULE}. Pass executor="async" to '
                "await it on the event loop"
            )
        qualname = getattr(unwrap_partial(func), "__qualname__", "")
        if "<lambda>" in qualname:
            raise ValueError(f"{name} is a lambda; {_PROCESS_RULE}")
        if "<locals>" in qualname:
            raise ValueError(f"{name} is defined inside another function; {_PROCESS_RULE}")

    def check_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Pickle every argument as the transport will, so failures surface at enqueue time.

        Raises:
            TaskArgumentError: an argument cannot be pickled; the message names it and why.
        """
        for position, value in enumerate(args):
            _check_picklable(f"positional argument {position}", value)
        for keyword, value in kwargs.items():
            _check_picklable(f"keyword argument {keyword!r}", value)

    async def run(self, invocation: Invocation) -> Any:
        """Call the function in a worker process and return its result.

        The worker's log lines are replayed into ``invocation.scope`` first. An exception is
        re-raised with its type and message, its ``__cause__`` a :class:`WorkerTraceback`
        holding the worker's traceback; one that cannot be pickled arrives as a
        ``RuntimeError`` naming its type. Cancelling the awaiting coroutine stops the wait at
        once; a call already handed to a worker runs to its end there.

        Raises:
            TaskArgumentError: an argument cannot be pickled.
            TypeError: the function itself cannot be pickled.
            RuntimeError: the executor was shut down before or during the call.
            BrokenProcessPool: the worker died mid-call (a fresh worker takes its place).
        """
        payload = self._encode_call(invocation)
        task = invocation.scope.context
        fields: ContextFields = (task.task_id, task.func_name, task.attempt, dict(task.tags))
        lanes = self._lanes
        lane = await lanes.acquire()
        try:
            future = lane.submit(run_call, fields, payload)
        except BaseException:
            lanes.release(lane, broken=True)
            raise
        self._calls.add(future)
        # The lane is free again only once its worker is done with the call, which may be
        # after this coroutine was cancelled.
        loop = asyncio.get_running_loop()
        future.add_done_callback(functools.partial(_lane_done, loop, lanes, lane))
        key = id(invocation)
        self._running[key] = (lane, future)
        try:
            raw = await await_call(
                future, not_started="the process executor shut down before the call started"
            )
        except BrokenProcessPool as exc:
            if lane in self._terminated:
                raise RuntimeError(
                    "the process executor shut down while the call was running; its worker "
                    "was terminated"
                ) from exc
            raise
        finally:
            self._running.pop(key, None)
        outcome = _decode_outcome(raw, invocation.func)
        for line in outcome.logs:
            invocation.scope.log(line.level, line.message, line.extra, timestamp=line.timestamp)
        if outcome.error is None:
            return outcome.result
        if outcome.traceback_text:
            raise outcome.error from WorkerTraceback(outcome.traceback_text)
        raise outcome.error

    async def abandon(self, invocation: Invocation) -> Abandoned:
        """Kill the worker process running ``invocation``'s call; a new worker takes its place.

        Calls running in other workers are not affected. A call still waiting for a worker is
        simply not started.
        """
        running = self._running.get(id(invocation))
        if running is None:
            return Abandoned.STOPPED
        lane, future = running
        if not future.cancel():  # already handed to the worker
            self._lanes.kill(lane)
        return Abandoned.STOPPED

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting calls, wait for running ones, then terminate the workers.

        Calls still waiting for a worker are cancelled (their ``run`` raises
        ``RuntimeError``). Running calls get up to ``timeout`` seconds (the constructor's
        ``shutdown_timeout`` when ``None``); workers still busy after that are terminated.
        The event loop keeps running meanwhile.
        """
        lanes, self._lanes = self._lanes, self._new_lanes()
        retired = lanes.close("the process executor shut down before the call started")
        if not retired:
            return
        self._terminated.update(retired)
        limit = self._shutdown_timeout if timeout is None else timeout
        calls = self._calls.snapshot()
        for call in calls:
            call.cancel()  # succeeds only for calls no worker has taken yet
        if await wait_until_done(calls, limit):
            stop: Callable[[Lane], None] = functools.partial(Lane.shutdown, wait=True)
        else:
            stop = _terminate_workers
        await asyncio.to_thread(_stop_each, stop, retired)

    @property
    def workers(self) -> int:
        """Worker processes started and not stopped (busy or idle)."""
        return self._lanes.live

    def _new_lanes(self) -> WorkerLanes:
        return WorkerLanes(self._size, self._mp_context, ignore_interrupts)

    def _encode_call(self, invocation: Invocation) -> bytes:
        try:
            return pickle_value((invocation.func, invocation.args, dict(invocation.kwargs)))
        except Exception as exc:
            self.check_arguments(invocation.args, invocation.kwargs)
            raise TypeError(
                f"task function {callable_name(invocation.func)} cannot be sent to a worker "
                f"process: {exc}; {_PROCESS_RULE}"
            ) from exc


def _check_picklable(label: str, value: Any) -> None:
    try:
        pickle_value(value)
    except Exception as exc:
        hint = (
            ""
            if USES_CLOUDPICKLE
            else " Installing the 'process' extra (cloudpickle) also lets lambdas and locally "
            "defined functions through."
        )
        raise TaskArgumentError(
            f"{label} ({type(value).__qualname__}) cannot be sent to a process task: {exc}. "
            "Process tasks receive their arguments pickled; pass plain data (ids, strings, "
            f"numbers) and build heavier objects inside the task.{hint}"
        ) from exc


def _decode_outcome(raw: bytes, func: Callable[..., Any]) -> WorkerOutcome:
    try:
        outcome = unpickle_value(raw)
    except Exception as exc:
        raise RuntimeError(
            f"the outcome of {callable_name(func)} sent back by the worker cannot be read: {exc}"
        ) from exc
    if not isinstance(outcome, WorkerOutcome):
        raise RuntimeError(f"unexpected reply from a worker process: {type(outcome).__name__}")
    return outcome


def _default_start_method() -> str:
    # Forking copies the locks of every thread in whatever state they are in; FastAPI apps
    # always run threads. The fork server forks from a clean single-threaded process instead.
    # macOS system libraries are not fork-safe at all, hence spawn there (as Python does).
    if sys.platform != "darwin" and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return "spawn"


def _stop_each(stop: Callable[[Lane], None], lanes: list[Lane]) -> None:
    for lane in lanes:
        stop(lane)


def _cpu_count() -> int:
    # What ProcessPoolExecutor picks by default: the CPUs this process may use (3.13+).
    counter = getattr(os, "process_cpu_count", None) or os.cpu_count
    return counter() or 1


def _lane_done(
    loop: asyncio.AbstractEventLoop,
    lanes: WorkerLanes,
    lane: Lane,
    future: concurrent.futures.Future[Any],
) -> None:
    # Runs in the pool's management thread: hand over to the event loop, which owns the lanes.
    broken = not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody needs the lane
        loop.call_soon_threadsafe(functools.partial(lanes.release, lane, broken=broken))


def _terminate_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop every worker of ``pool`` now, even mid-call. Blocks: run it in a thread."""
    if sys.version_info >= (3, 14):
        pool.terminate_workers()
        return
    # Before Python 3.14 no public API stops busy workers. The pool's private ``_processes``
    # (pid -> multiprocessing.Process) is the only handle to them; this is the one place that
    # reads it, and it must be read before shutdown(), which drops it.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ValueError):  # already closed
            process.terminate()
    for process in processes:
        with contextlib.suppress(ValueError):
            process.join(_TERMINATE_GRACE)
            if process.exitcode is None:  # ignored SIGTERM
                process.kill()
                process.join()


if TYPE_CHECKING:
    _conforms: Executor = ProcessExecutor()
