"""``taskflow_test()``: run a ``TaskManager`` on memory storage and a fake clock in a test."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fastapi_taskflow.adapters.clock import FakeClock
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.container import TaskflowContainer
from fastapi_taskflow.entrypoints.testing.clock_driver import ClockDriver
from fastapi_taskflow.entrypoints.testing.enqueued_calls import (
    describe_call,
    describe_calls,
    matches_call,
)
from fastapi_taskflow.entrypoints.testing.kit_container import kit_container
from fastapi_taskflow.entrypoints.testing.kit_service import RecordingChanges

if TYPE_CHECKING:
    from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

#: The attribute marking a manager that a kit is driving.
_ACTIVE = "_taskflow_test_kit"


class TaskflowKit:
    """A ``TaskManager`` redirected to in-memory adapters and a fake clock for one test.

    Create it with :func:`taskflow_test`. While it is active the manager (and every route
    that uses it) stores tasks in memory, reads time from :attr:`clock`, and runs tasks only
    as far as they can go without time passing; :meth:`run_until_idle` and :meth:`advance`
    move time on. When the kit exits, the manager is exactly as it was before.

    Args:
        manager: The application's ``TaskManager``.
        clock: The clock to use (default: a new :class:`FakeClock` at ``start``). It must
            not advance by itself (``auto_advance=False``).
        start: Where a new clock starts, timezone-aware (default: 2026-01-01 00:00 UTC).
        timeout: Real seconds :meth:`run_until_idle` and :meth:`advance` wait for work that
            runs outside the fake clock (sync tasks in threads, process tasks, a task
            awaiting a real network call) before raising :class:`TasksDidNotSettle`.
        max_steps: Most jumps of the clock one call makes before it gives up: a task that
            retries for ever, or a schedule that keeps a task in flight, fails the test
            instead of hanging it.
    """

    def __init__(
        self,
        manager: TaskManager,
        *,
        clock: FakeClock | None = None,
        start: datetime | None = None,
        timeout: float = 5.0,
        max_steps: int = 100_000,
    ) -> None:
        if clock is not None and start is not None:
            raise ValueError("pass clock= or start=, not both")
        if clock is None:
            clock = FakeClock(start, auto_advance=False)
        elif clock.auto_advance:
            raise ValueError(
                "the kit needs a clock that only moves when told: FakeClock(auto_advance=False)"
            )
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
        self.manager = manager
        #: The fake clock every part of the manager reads while the kit is active.
        self.clock = clock
        self.timeout = timeout
        self.max_steps = max_steps
        self._container: TaskflowContainer | None = None
        self._original_service: TaskService | None = None

    # -- entering and leaving -----------------------------------------------------------

    def __enter__(self) -> TaskflowKit:
        self._install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        service = self.service if self._container is not None else None
        try:
            if service is not None and service.started:
                _stop_from_outside(service)
        finally:
            self._restore()

    async def __aenter__(self) -> TaskflowKit:
        self._install()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._container is not None:
                await self.service.shutdown()
        finally:
            self._restore()

    def _install(self) -> None:
        if self._container is not None:
            raise RuntimeError("this kit is already active")
        manager = self.manager
        if getattr(manager, _ACTIVE, None) is not None:
            raise RuntimeError("another taskflow_test() kit is already driving this manager")
        original = manager.container
        service: TaskService = original.service()
        if service.started:
            raise RuntimeError(
                "the task manager is already running: enter taskflow_test() before the app's "
                "lifespan (or task_manager.startup()) starts it"
            )
        container = kit_container(original, self.clock)
        original.override(container)
        self._container = container
        self._original_service = service
        setattr(manager, _ACTIVE, self)
        now = self.clock.now()
        for entry in service.scheduler.periodic:
            self.service.scheduler.periodic.add(entry, now)

    def _restore(self) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        original = self._original_service
        assert original is not None
        # Schedules declared while the kit was active belong to the manager from now on.
        for entry in container.service().scheduler.periodic:
            if original.scheduler.periodic.get(entry.name) is None:
                original.scheduler.periodic.add(entry, original.clock.now())
        self.manager.container.reset_last_overriding()
        delattr(self.manager, _ACTIVE)

    # -- what the test reads ------------------------------------------------------------

    @property
    def service(self) -> TaskService:
        """The application service the manager uses while the kit is active."""
        service: TaskService = self._active().service()
        return service

    def now(self) -> datetime:
        """The fake clock's current time (UTC)."""
        return self.clock.now()

    def enqueued(
        self,
        func: Callable[..., Any] | str | None = None,
        *,
        status: TaskStatus | str | Iterable[TaskStatus | str] | None = None,
    ) -> list[TaskRecord]:
        """Every task created while the kit was active, oldest first: those enqueued by
        routes, by ``add_task()``, by other tasks, by schedules and by retries.

        Args:
            func: Only tasks of this function (the function itself or its task name).
            status: Only tasks in this status (or any of these statuses).

        The records are live: their ``status``, ``attempt``, ``logs``, ``tags``, ``error``
        and times change as the tasks run.
        """
        records = self._recorder().created_records()
        if func is not None:
            name = self._task_name(func)
            records = [record for record in records if record.func_name == name]
        if status is not None:
            wanted = _statuses(status)
            records = [record for record in records if record.status in wanted]
        return records

    def task(self, task_id: str) -> TaskRecord:
        """The task with this id (enqueued while the kit was active).

        Raises:
            KeyError: No such task.
        """
        for record in self._recorder().created_records():
            if record.task_id == task_id:
                return record
        raise KeyError(f"no task {task_id!r} was enqueued under this kit")

    def arguments(self, record: TaskRecord) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments ``record`` runs with (decrypted when
        argument encryption is on)."""
        args, kwargs = self._active().codec().arguments(record)
        return tuple(args), dict(kwargs)

    def assert_enqueued(
        self, func: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> TaskRecord:
        """Assert ``func`` was enqueued with exactly these arguments and return the latest
        such task. With no arguments given, any call of ``func`` matches.

        Raises:
            AssertionError: No such task; the message lists what was enqueued.
        """
        name = self._task_name(func)
        any_call = not args and not kwargs
        found = [
            record
            for record in self.enqueued(name)
            if any_call or matches_call(self.arguments(record), args, kwargs)
        ]
        if found:
            return found[-1]
        expected = name if any_call else describe_call(name, args, kwargs)
        raise AssertionError(
            f"expected {expected} to be enqueued; {describe_calls(self._calls())}"
        )

    def assert_not_enqueued(self, func: Callable[..., Any] | str) -> None:
        """Assert ``func`` was never enqueued while the kit was active.

        Raises:
            AssertionError: It was; the message lists its tasks.
        """
        name = self._task_name(func)
        found = self.enqueued(name)
        if found:
            calls = [(record, self.arguments(record)) for record in found]
            raise AssertionError(
                f"expected {name} not to be enqueued; it was {len(found)} time(s):\n"
                f"{describe_calls(calls, header=False)}"
            )

    # -- moving time --------------------------------------------------------------------

    async def run_until_idle(self) -> list[TaskRecord]:
        """Run everything that can run: tasks waiting to start, tasks enqueued by tasks, and
        retries, moving the clock to each retry's time (firing schedule slots that come due
        on the way), until no task is in flight.

        Returns:
            The tasks that finished (any terminal status) during the call, oldest first.

        Raises:
            TasksDidNotSettle: Work outside the fake clock did not finish within ``timeout``
                real seconds, or the clock had to move more than ``max_steps`` times.
        """
        return await self._run(until=None)

    async def advance(self, seconds: float | timedelta) -> list[TaskRecord]:
        """Move the clock forward by ``seconds``, stopping at every moment something is due
        on the way: retry waits, periodic schedule slots (each slot runs, as it would in
        real time) and ``schedule_once`` runs. Tasks still waiting on a later retry stay
        waiting.

        Returns:
            The tasks that finished during the call, oldest first.

        Raises:
            ValueError: A negative duration.
            TasksDidNotSettle: As for :meth:`run_until_idle`.
        """
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError("time cannot go backwards")
        return await self._run(until=self.clock.now() + delta)

    async def advance_to(self, moment: datetime) -> list[TaskRecord]:
        """Like :meth:`advance`, up to ``moment`` (timezone-aware)."""
        if moment.tzinfo is None:
            raise ValueError("advance_to() needs a timezone-aware datetime")
        if moment < self.clock.now():
            raise ValueError(f"time cannot go backwards (now {self.clock.now().isoformat()})")
        return await self._run(until=moment)

    # -- from synchronous tests ----------------------------------------------------------

    def run_until_idle_blocking(self) -> list[TaskRecord]:
        """:meth:`run_until_idle` for synchronous tests whose app runs in another thread,
        as ``with TestClient(app):`` runs it. Blocks until done.

        Raises:
            RuntimeError: The app is not running in another thread.
        """
        return self._on_app_loop(self.run_until_idle)

    def advance_blocking(self, seconds: float | timedelta) -> list[TaskRecord]:
        """:meth:`advance` for synchronous tests (see :meth:`run_until_idle_blocking`)."""
        return self._on_app_loop(lambda: self.advance(seconds))

    def _on_app_loop(
        self, call: Callable[[], Coroutine[Any, Any, list[TaskRecord]]]
    ) -> list[TaskRecord]:
        loop = self.service.bridge.loop
        if loop is None or loop.is_closed() or not loop.is_running() or _on_loop(loop):
            raise RuntimeError(
                "the blocking calls need the app running in another thread, as "
                "`with TestClient(app):` runs it; in async tests, await kit.run_until_idle()"
            )
        return asyncio.run_coroutine_threadsafe(call(), loop).result()

    # -- internals ----------------------------------------------------------------------

    async def _run(self, until: datetime | None) -> list[TaskRecord]:
        service = self.service
        await service.ready()
        driver = ClockDriver(
            service, self._recorder(), self.clock, timeout=self.timeout, max_steps=self.max_steps
        )
        return await driver.run(until)

    def _active(self) -> TaskflowContainer:
        if self._container is None:
            raise RuntimeError(
                "the kit is not active: use it inside `with taskflow_test(manager) as kit:` "
                "or `async with ...`"
            )
        return self._container

    def _recorder(self) -> RecordingChanges:
        recorder = self._active().recorder()
        assert isinstance(recorder, RecordingChanges)
        return recorder

    def _task_name(self, func: Callable[..., Any] | str) -> str:
        if isinstance(func, str):
            return func
        entry = self.manager.registry.get(func)
        if entry is None:
            raise ValueError(
                f"{getattr(func, '__qualname__', func)!r} is not a registered task of this "
                "manager; decorate it with @task_manager.task() or pass its task name"
            )
        return entry.name

    def _calls(self) -> list[tuple[TaskRecord, tuple[tuple[Any, ...], dict[str, Any]]]]:
        return [(record, self.arguments(record)) for record in self.enqueued()]


def taskflow_test(
    manager: TaskManager,
    *,
    clock: FakeClock | None = None,
    start: datetime | None = None,
    timeout: float = 5.0,
    max_steps: int = 100_000,
) -> TaskflowKit:
    """Drive ``manager`` on memory storage and a fake clock for the duration of a block.

    Use it as ``async with taskflow_test(task_manager) as kit:`` (or a plain ``with`` in
    synchronous set-up code). Enter it before the app starts (before ``LifespanManager`` or
    ``TestClient`` run the lifespan); see :class:`TaskflowKit` for the arguments.
    """
    return TaskflowKit(manager, clock=clock, start=start, timeout=timeout, max_steps=max_steps)


def _stop_from_outside(service: TaskService) -> None:
    """Stop ``service`` from synchronous code (a sync pytest fixture's teardown, say)."""
    loop = service.bridge.loop
    if loop is None or loop.is_closed():
        # Closing a loop (asyncio.run, pytest-asyncio) cancels the tasks left on it, the
        # service's included; the memory store it wrote to is dropped with the kit.
        return
    if not loop.is_running():
        loop.run_until_complete(service.shutdown())
    elif not _on_loop(loop):  # an app run in another thread, as TestClient runs it
        asyncio.run_coroutine_threadsafe(service.shutdown(), loop).result()
    else:
        warnings.warn(
            "the task manager was still running when the kit exited inside a running event "
            "loop; use `async with taskflow_test(...)` there, so it is stopped",
            RuntimeWarning,
            stacklevel=3,
        )


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _statuses(status: TaskStatus | str | Iterable[TaskStatus | str]) -> set[TaskStatus]:
    if isinstance(status, (TaskStatus, str)):
        return {TaskStatus(status)}
    return {TaskStatus(one) for one in status}
