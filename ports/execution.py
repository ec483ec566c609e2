"""Running a task's function: on the event loop, in a thread or in another process."""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.domain.executor_kind import ExecutorKind


class TaskScope(Protocol):
    """What code running inside a task talks to: its identity and its log."""

    @property
    def context(self) -> TaskContext:
        """The running task's identity and attempt."""
        ...

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        """Record a log line for the task. Safe to call from any thread."""
        ...


#: The scope of the task whose code is running, as seen from that code.
#: Executors set it around the function call; ``task_log()`` and ``get_task_context()`` read it.
current_task_scope: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar(
    "fastapi_taskflow_task_scope", default=None
)


@attrs.frozen(kw_only=True)
class Invocation:
    """One attempt's call of a task function, ready for an executor."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    scope: TaskScope
    #: The enqueuing code's contextvars, so trace state reaches the task (``None``: current).
    context: contextvars.Context | None = None


class Abandoned(enum.Enum):
    """What became of a call its executor was told to give up on."""

    #: The call no longer runs (a cancelled coroutine, a killed worker process).
    STOPPED = "stopped"
    #: The call carries on until it returns (a thread); its outcome is thrown away.
    LEFT_RUNNING = "left_running"


class Executor(Protocol):
    """Calls task functions of one kind."""

    kind: ExecutorKind

    def check_function(self, func: Callable[..., Any]) -> None:
        """Raise ``ValueError`` if ``func`` cannot run on this executor (checked at decoration)."""
        ...

    def check_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Raise ``TaskArgumentError`` if the arguments cannot reach the function."""
        ...

    async def run(self, invocation: Invocation) -> Any:
        """Call the function and return its result, raising what it raised.

        Cancelling the awaiting coroutine stops waiting for the call; for threads and processes
        the underlying call may still finish on its own.
        """
        ...

    async def abandon(self, invocation: Invocation) -> Abandoned:
        """Give up on the call of ``invocation`` that :meth:`run` is executing: it ran past
        its time limit.

        Stops the call where the executor can and frees what it holds. The caller cancels the
        awaiting :meth:`run` afterwards and ignores its outcome; whatever the call returns or
        raises later is thrown away. Does nothing for a call that is not running here.
        """
        ...

    async def shutdown(self, timeout: float) -> None:
        """Release threads or processes, waiting up to ``timeout`` seconds for running calls."""
        ...
