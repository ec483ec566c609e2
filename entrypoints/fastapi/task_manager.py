"""``TaskManager``: the object applications create to register and run background tasks."""

from __future__ import annotations

import contextvars
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs
from fastapi import BackgroundTasks, FastAPI

from fastapi_taskflow.adapters.crypto import FernetCipher
from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.application.queues import KEEP, Keep, QueueStats
from fastapi_taskflow.application.registry import TaskRegistry, default_task_name
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.queue import DEFAULT_QUEUE, QueueConfig
from fastapi_taskflow.domain.retention import (
    DEFAULT_RETENTION_INTERVAL,
    checked_retention_days,
    checked_retention_interval,
)
from fastapi_taskflow.domain.schedule import MissedSlots, ScheduleEntry
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.domain.triggers import make_trigger
from fastapi_taskflow.entrypoints.backends import RedisBackend, SnapshotBackend
from fastapi_taskflow.entrypoints.container import TaskflowContainer
from fastapi_taskflow.entrypoints.fastapi.error_responses import install_queue_full_response
from fastapi_taskflow.entrypoints.fastapi.lifespan import attach_to_app
from fastapi_taskflow.entrypoints.fastapi.managed_tasks import (
    ManagedBackgroundTasks,
    install_globally,
    share,
)
from fastapi_taskflow.entrypoints.fastapi.request_guard import deferred_by_request
from fastapi_taskflow.entrypoints.fastapi.request_provenance import request_provenance
from fastapi_taskflow.entrypoints.fastapi.timeout_keyword import route_timeout
from fastapi_taskflow.entrypoints.storage_selection import resolve_storage_url, storage_options
from fastapi_taskflow.ports.observers import TaskObserver

if TYPE_CHECKING:
    from fastapi_taskflow.adapters.observers import LoggerChain

F = TypeVar("F", bound=Callable[..., Any])


class TaskManager:
    """Registers task functions and runs them with retries, persistence and tracking.

    Args:
        snapshot_db: Path of a SQLite file to store tasks in (``sqlite:///<path>``).
        snapshot_backend: A backend from ``fastapi_taskflow.backends``; wins over
            ``snapshot_db``.
        snapshot_interval: Kept for compatibility, no effect: task changes are committed
            continuously in batches (and before each response), not on an interval.
        requeue_pending: Kept for compatibility. Unfinished tasks are always recovered from
            durable storage on start-up.
        merged_list_ttl: Kept for compatibility; lists are read from storage directly, so
            there is no cache to expire. A value other than the default triggers a warning.
        loggers: Observers that receive every log line and lifecycle event.
        log_file: Shorthand for adding a ``FileLogger`` for this path.
        log_file_max_bytes: Rotation size of the ``log_file`` shorthand.
        log_file_backup_count: Rotated files kept by the ``log_file`` shorthand.
        log_file_mode: ``"rotate"`` or ``"watched"`` for the ``log_file`` shorthand.
        log_lifecycle: Also write status transitions to the ``log_file`` shorthand.
        encrypt_args_key: A Fernet key (or a list of keys, newest first) to encrypt task
            arguments at rest.
        max_concurrent_tasks: Most tasks of the ``"default"`` queue running at once; the
            others wait, ordered by priority. ``None``: no limit. Ignored when ``queues``
            configures ``"default"`` itself.
        max_sync_threads: Size of a dedicated thread pool for sync tasks (``None``: the event
            loop's default pool).
        max_process_workers: Worker processes for ``executor="process"`` tasks
            (``None``: one per CPU).
        process_shutdown_timeout: Seconds to wait for process tasks at shutdown.
        retention_days: Delete finished tasks that ended more than this many days ago
            (soon after start-up, then every ``retention_interval``; one instance at a time;
            audited). Pending and running tasks are never deleted. ``None`` keeps history
            forever. Can be changed later through the ``retention_days`` attribute.
        storage_url: Where tasks are stored: ``memory://``, ``sqlite:///tasks.db``,
            ``postgresql://…``, ``mysql://…`` (also MariaDB) or ``redis://…`` (see the storage
            guide for drivers and options). Wins over the other storage options; the
            ``TASKFLOW_STORAGE_URL`` environment variable is used when no option names a
            storage. Default: ``memory://``.
        recent_limit: Finished tasks kept in memory for quick access (history stays in storage).
        max_crash_reruns: How many times a ``requeue_on_interrupt`` task is started again after
            the process running it died; past that it stays ``interrupted``, so a task that
            crashes its process cannot loop forever.
        max_storage_backlog: Task changes that may wait for storage (while it is unreachable
            or slow) before ``add_task()`` refuses new tasks with ``StorageBacklogFull``.
        lease_ttl: Seconds an instance counts as alive after its last heartbeat (sent every
            third of it). Work of an instance silent for longer is taken over by the others:
            a shorter lease means faster failover, and more heartbeat writes.
        retention_interval: Seconds between two retention runs when ``retention_days`` is
            set (default six hours).
        queues: Named queues and their limits, ``{"emails": QueueConfig(concurrency=2)}``.
            ``"default"`` always exists (with ``max_concurrent_tasks`` and ``max_size`` unless
            given here). Tasks pick a queue with ``queue=`` (see the queues guide).
        max_size: Most tasks waiting in the ``"default"`` queue; beyond it ``add_task()``
            raises ``QueueFullError``. ``None``: no limit.
    """

    def __init__(
        self,
        snapshot_db: str | None = None,
        snapshot_backend: SnapshotBackend | None = None,
        snapshot_interval: float = 60.0,
        requeue_pending: bool = False,
        merged_list_ttl: float = 5.0,
        loggers: Sequence[TaskObserver] | None = None,
        log_file: str | None = None,
        log_file_max_bytes: int = 10_485_760,
        log_file_backup_count: int = 5,
        log_file_mode: str = "rotate",
        log_lifecycle: bool = False,
        encrypt_args_key: bytes | str | Sequence[bytes | str] | None = None,
        max_concurrent_tasks: int | None = None,
        max_sync_threads: int | None = None,
        max_process_workers: int | None = None,
        process_shutdown_timeout: float = 30.0,
        retention_days: float | None = None,
        *,
        storage_url: str | None = None,
        recent_limit: int = 1000,
        max_crash_reruns: int = 3,
        max_storage_backlog: int = 100_000,
        lease_ttl: float = 30.0,
        retention_interval: float = DEFAULT_RETENTION_INTERVAL,
        queues: Mapping[str, QueueConfig] | None = None,
        max_size: int | None = None,
    ) -> None:
        _positive("snapshot_interval", snapshot_interval)
        _non_negative("merged_list_ttl", merged_list_ttl)
        _non_negative("process_shutdown_timeout", process_shutdown_timeout)
        _optional_count("max_concurrent_tasks", max_concurrent_tasks)
        _optional_count("max_sync_threads", max_sync_threads)
        _optional_count("max_process_workers", max_process_workers)
        _whole("recent_limit", recent_limit, minimum=0)
        _whole("max_crash_reruns", max_crash_reruns, minimum=0)
        _whole("max_storage_backlog", max_storage_backlog, minimum=1)
        _positive("lease_ttl", lease_ttl)
        _optional_count("max_size", max_size)
        if queues is not None and not isinstance(queues, Mapping):
            raise ValueError(
                f"queues must be a dict of queue name to QueueConfig, got {type(queues).__name__}"
            )
        if retention_days is None and isinstance(snapshot_backend, RedisBackend):
            # The original RedisBackend expired finished records after ``ttl`` seconds.
            retention_days = None if snapshot_backend.ttl is None else snapshot_backend.ttl / 86400
        retention_days = checked_retention_days(retention_days)
        checked_retention_interval(retention_interval)
        if merged_list_ttl != 5.0:
            warnings.warn(
                "merged_list_ttl no longer has an effect: task lists are read from storage "
                "directly, so there is no cache to expire",
                DeprecationWarning,
                stacklevel=2,
            )
        self.snapshot_interval = snapshot_interval
        self.requeue_pending = requeue_pending
        self.container = TaskflowContainer()
        self.container.config.from_dict(
            {
                "storage_url": resolve_storage_url(
                    storage_url=storage_url,
                    snapshot_db=snapshot_db,
                    snapshot_backend=snapshot_backend,
                ),
                "loggers": list(loggers or []),
                "log_file": log_file,
                "log_file_max_bytes": log_file_max_bytes,
                "log_file_backup_count": log_file_backup_count,
                "log_file_mode": log_file_mode,
                "log_lifecycle": log_lifecycle,
                "encrypt_args_key": encrypt_args_key,
                "max_concurrent_tasks": max_concurrent_tasks,
                "max_sync_threads": max_sync_threads,
                "max_process_workers": max_process_workers,
                "process_shutdown_timeout": process_shutdown_timeout,
                "retention_days": retention_days,
                "recent_limit": recent_limit,
                "storage_options": storage_options(snapshot_backend),
                "max_crash_reruns": max_crash_reruns,
                "max_storage_backlog": max_storage_backlog,
                "lease_ttl": lease_ttl,
                "retention_interval": retention_interval,
                "queues": tuple((queues or {}).items()),
                "max_size": max_size,
            }
        )
        # Build the adapters now so configuration errors surface here, not at first use.
        # Nothing connects yet: storage opens in startup(), inside the application's loop.
        self.container.storage()
        self.container.cipher()
        self.container.observer()
        self.container.tracing()
        self.container.queues()  # validates ``queues``

    # -- public attributes --------------------------------------------------------------

    @property
    def service(self) -> TaskService:
        """The application service behind this manager."""
        service: TaskService = self.container.service()
        return service

    @property
    def registry(self) -> TaskRegistry:
        """The registered functions and their ``TaskConfig``."""
        registry: TaskRegistry = self.container.registry()
        return registry

    @property
    def store(self) -> TaskStore:
        """Tasks this process is working on plus a window of recently finished ones."""
        store: TaskStore = self.container.store()
        return store

    @property
    def logger(self) -> LoggerChain | None:
        """The observer chain, or ``None`` when no observer is configured."""
        chain: LoggerChain | None = self.container.observer()
        return chain

    @property
    def fernet(self) -> Any:
        """The ``cryptography`` Fernet object when argument encryption is on, else ``None``."""
        cipher = self.container.cipher()
        return cipher.fernet if isinstance(cipher, FernetCipher) else None

    @property
    def retention_days(self) -> float | None:
        """Days finished tasks are kept (``None``: forever). Setting it takes effect at the
        next maintenance tick, also on a running manager.

        Raises:
            ValueError: when set to anything but ``None`` or a finite number > 0.
        """
        return self.service.retention_days

    @retention_days.setter
    def retention_days(self, days: float | None) -> None:
        self.service.retention_days = days

    # -- registration -------------------------------------------------------------------

    @overload
    def task(self, func: F, /) -> F: ...

    @overload
    def task(
        self,
        func: None = None,
        /,
        *,
        retries: int = 0,
        delay: float = 0.0,
        backoff: float = 1.0,
        persist: bool = False,
        name: str | None = None,
        requeue_on_interrupt: bool = False,
        eager: bool = False,
        priority: int | None = None,
        executor: str | None = None,
        max_delay: float | None = None,
        jitter: float = 0.0,
        queue: str = DEFAULT_QUEUE,
        timeout: float | None = None,
    ) -> Callable[[F], F]: ...

    def task(
        self,
        func: F | None = None,
        /,
        *,
        retries: int = 0,
        delay: float = 0.0,
        backoff: float = 1.0,
        persist: bool = False,
        name: str | None = None,
        requeue_on_interrupt: bool = False,
        eager: bool = False,
        priority: int | None = None,
        executor: str | None = None,
        max_delay: float | None = None,
        jitter: float = 0.0,
        queue: str = DEFAULT_QUEUE,
        timeout: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register a function as a managed background task; the function is returned unchanged.

        Args:
            retries: Additional attempts after the first failure.
            delay: Seconds before the first retry.
            backoff: Multiplier applied to the delay on each further retry.
            persist: Kept for compatibility; every task is stored when storage is durable.
            name: Name in logs, the dashboard and storage (default: the function's name).
            requeue_on_interrupt: Run again from the start when the process stopped while
                the task was running. Only for idempotent functions.
            eager: Start when ``add_task()`` is called, before the response is sent.
            priority: Hand the task to its queue at once, ahead of lower priorities waiting
                in the same queue.
            executor: ``"async"``, ``"thread"`` or ``"process"``; default from the function.
            max_delay: Cap on any single retry wait, in seconds.
            jitter: Fraction (0 to 1) of each retry wait that may be randomly taken off.
            queue: The named queue its tasks wait in (``add_task(queue=...)`` overrides it).
            timeout: Seconds each attempt may run; a longer one fails with ``TaskTimeout``
                (and is retried like any failure). ``None``: no limit. See the timeouts
                guide for how each executor stops a call.

        Raises:
            ValueError: For an invalid option, an unknown queue, or an executor the function
                cannot run on.
        """

        def config_named(task_name: str) -> TaskConfig:
            return TaskConfig(
                name=task_name,
                retries=retries,
                delay=delay,
                backoff=backoff,
                max_delay=max_delay,
                jitter=jitter,
                persist=persist,
                requeue_on_interrupt=requeue_on_interrupt,
                eager=eager,
                priority=priority,
                executor=executor,
                queue=queue,
                timeout=timeout,
            )

        self.service.queues.check(queue)

        def register(target: F) -> F:
            task_name = name if name is not None else default_task_name(target)
            self.registry.register(target, config_named(task_name))
            return target

        if func is not None:
            return register(func)
        config_named(name if name is not None else "task")  # fail before being applied
        return register

    def schedule(
        self,
        every: float | None = None,
        cron: str | None = None,
        *,
        timezone: str = "UTC",
        run_on_startup: bool = False,
        missed: str = "skip",
        retries: int = 0,
        delay: float = 0.0,
        backoff: float = 1.0,
        name: str | None = None,
        executor: str | None = None,
        priority: int | None = None,
        requeue_on_interrupt: bool = False,
        max_delay: float | None = None,
        jitter: float = 0.0,
        queue: str = DEFAULT_QUEUE,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Run a function periodically; it is also registered as a normal task, so
        ``add_task()`` can enqueue it by hand too. The function is returned unchanged.

        Each slot runs once across every instance sharing the store (see the scheduling
        guide), through the same path as other tasks, with ``source="scheduled"``.

        Args:
            every: Seconds between runs. Slots are multiples of ``every`` since the Unix
                epoch, so ``every=300`` runs at :00, :05, :10 ... of each hour.
            cron: A five-field cron expression (``"0 2 * * *"``) or a shorthand such as
                ``"@hourly"``. Needs ``pip install "fastapi-taskflow[scheduler]"``.
            timezone: IANA time zone the cron expression is read in.
            run_on_startup: Also run once whenever an instance starts.
            missed: ``"skip"`` (default) or ``"run_once"``: what to do at start-up with
                slots that came due while no instance was running.
            retries: Additional attempts after the first failure.
            delay: Seconds before the first retry.
            backoff: Multiplier applied to the delay on each further retry.
            name: Name in logs, the dashboard and storage (default: the function's name).
            executor: ``"async"``, ``"thread"`` or ``"process"``; default from the function.
            priority: Order among tasks waiting for a slot of the same queue.
            requeue_on_interrupt: Run again when the process stopped while it was running.
            max_delay: Cap on any single retry wait, in seconds.
            jitter: Fraction (0 to 1) of each retry wait that may be randomly taken off.
            queue: The named queue its runs wait in.
            timeout: Seconds each attempt may run before it fails with ``TaskTimeout``.

        Raises:
            ValueError: Neither or both of ``every`` and ``cron``; a non-positive interval;
                an invalid cron expression; an unknown time zone; another invalid option; or
                an executor the function cannot run on.
            ImportError: ``cron`` is used and croniter is not installed.
        """
        trigger = make_trigger(every, cron, timezone)
        if not isinstance(run_on_startup, bool):
            raise ValueError(f"run_on_startup must be True or False, got {run_on_startup!r}")
        policy = MissedSlots.parse(missed)
        register = self.task(
            retries=retries,
            delay=delay,
            backoff=backoff,
            name=name,
            executor=executor,
            priority=priority,
            requeue_on_interrupt=requeue_on_interrupt,
            max_delay=max_delay,
            jitter=jitter,
            queue=queue,
            timeout=timeout,
        )

        def decorate(func: F) -> F:
            task_name = name if name is not None else default_task_name(func)
            entry = ScheduleEntry(
                name=task_name, trigger=trigger, run_on_startup=run_on_startup, missed=policy
            )
            self.service.check_schedule(entry)
            register(func)
            self.service.add_schedule(entry)
            return func

        return decorate

    async def schedule_once(
        self,
        func: Callable[..., Any],
        *args: Any,
        run_at: datetime,
        run_key: str,
        tags: Mapping[str, str] | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
        queue: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> ScheduledOnce:
        """Run a registered task once, at ``run_at``, with these arguments.

        The run is stored before this returns, so it survives restarts; exactly one instance
        starts it. Scheduling again with the same ``run_key`` replaces the stored run (that
        is how a deadline is moved). A naive ``run_at`` means UTC; a time in the past runs
        at once. ``run_at``, ``run_key``, ``tags``, ``priority``, ``idempotency_key``,
        ``queue`` (the queue the run waits in; default: the task's) and ``timeout`` (seconds
        per attempt, stored with the run) are options, not arguments of the task.

        Returns:
            The run as stored (arguments sealed when encryption is on).

        Raises:
            ValueError: ``func`` is not registered, an unknown queue, or a bad ``run_key``
                or option.
            TypeError: ``run_at`` is not a datetime.
            TaskArgumentError: The arguments cannot reach the task's executor or storage.
        """
        timeout = route_timeout(func, timeout, kwargs)
        options = EnqueueOptions(
            tags=tags,
            idempotency_key=idempotency_key,
            priority=priority,
            queue=queue,
            timeout=timeout,
        )
        return await self.service.schedule_once(
            func, args, kwargs, run_at=run_at, run_key=run_key, options=options
        )

    async def cancel_scheduled(self, run_key: str) -> bool:
        """Cancel the one-off run stored under ``run_key``; False when there is none (it
        started already, was cancelled, or never existed)."""
        return await self.service.cancel_scheduled(run_key)

    async def list_scheduled(
        self, before: datetime | None = None, *, limit: int = 1000
    ) -> list[ScheduledOnce]:
        """One-off runs waiting for their time, soonest first: those due before ``before``
        (default: all), at most ``limit``."""
        return list(await self.service.list_scheduled(before, limit=limit))

    # -- enqueueing ---------------------------------------------------------------------

    def submit(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: EnqueueOptions,
        after_response: Callable[..., None] | None = None,
    ) -> str:
        """Enqueue a call and arrange for it to run; returns the task id.

        With ``after_response`` (a request's background list), ordinary tasks are handed to
        their queue after the response as FastAPI's are; eager and prioritised tasks, and
        every task without a request, at once. Either way a task starts only when its queue
        has a free slot.
        """
        context = contextvars.copy_context()
        service = self.service
        if options.provenance is None:
            options = attrs.evolve(options, provenance=request_provenance())
        result = service.enqueue(func, args, kwargs, options)
        if result.created:
            if result.immediate or after_response is None:
                service.dispatch_now(result.task_id, context)
            else:
                after_response(service.execute, result.task_id, context)
                deferred = deferred_by_request.get()
                if deferred is not None:
                    deferred.append(result.task_id)
        return result.task_id

    def add_task(
        self,
        func: Callable[..., Any],
        *args: Any,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        priority: int | None = None,
        eager: bool | None = None,
        queue: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue a task outside a request (start-up code, scripts); it starts at once
        (once its queue has a free slot).

        ``tags``, ``idempotency_key``, ``priority``, ``eager``, ``queue`` and ``timeout`` are
        options, as on ``ManagedBackgroundTasks.add_task``; ``eager`` changes nothing here
        since the task is dispatched at once anyway.

        Raises:
            ValueError: An invalid option or an unknown queue.
            QueueFullError: The queue already holds ``max_size`` waiting tasks (the task is
                recorded as ``rejected``).
        """
        timeout = route_timeout(func, timeout, kwargs)
        options = EnqueueOptions(
            tags=tags,
            idempotency_key=idempotency_key,
            priority=priority,
            eager=eager,
            queue=queue,
            timeout=timeout,
        )
        return self.submit(func, args, kwargs, options)

    # -- queues -------------------------------------------------------------------------

    def queue_stats(self) -> list[dict[str, Any]]:
        """Each configured queue in this process, ``"default"`` first: ``name``,
        ``concurrency``, ``max_size``, ``fair_by``, ``pending`` (waiting to start),
        ``running``, ``rejected`` and ``finished`` (since start-up), ``avg_duration`` (moving
        average of recent durations, seconds) and ``full``."""
        return [stats.to_dict() for stats in self.queue_stats_objects()]

    def queue_stats_objects(self) -> list[QueueStats]:
        """Like :meth:`queue_stats`, as typed objects."""
        return self.service.queues.stats()

    async def update_queue_config(
        self,
        name: str,
        *,
        concurrency: int | Keep | None = KEEP,
        max_size: int | Keep | None = KEEP,
        fair_by: str | Keep | None = KEEP,
    ) -> QueueConfig:
        """Change a queue's limits while the application runs; omitted settings are kept.

        Raising ``concurrency`` starts waiting tasks at once; lowering it stops nothing that
        is running, but no task of the queue starts until fewer than the new limit run. The
        change is saved in storage, so it survives restarts and other instances sharing the
        store apply it at their next maintenance tick (every ``lease_ttl / 3`` seconds).

        Returns:
            The queue's limits now.

        Raises:
            KeyError: ``name`` is not a configured queue.
            ValueError: A limit that is not ``None`` or an integer >= 1, or a bad ``fair_by``.
        """
        await self.service.ready()
        return await self.service.queues.update(
            name, concurrency=concurrency, max_size=max_size, fair_by=fair_by
        )

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """The task with this id, from memory or storage."""
        await self.service.ready()
        return await self.service.queries.get(task_id)

    async def cancel(self, task_id: str) -> TaskRecord:
        """Cancel a pending or running task of this process."""
        return await self.service.cancel(task_id)

    # -- FastAPI integration ------------------------------------------------------------

    async def get_tasks(self, background_tasks: BackgroundTasks) -> ManagedBackgroundTasks:
        """FastAPI dependency: a ``ManagedBackgroundTasks`` sharing the request's task list."""
        self.service.ensure_started()
        return share(background_tasks, self)

    @property
    def background_tasks(
        self,
    ) -> Callable[[BackgroundTasks], Any]:
        """Alias of :meth:`get_tasks`, for ``Depends(task_manager.background_tasks)``."""
        return self.get_tasks

    def install(self, app: FastAPI | None = None) -> None:
        """Make every ``BackgroundTasks`` (and ``ManagedBackgroundTasks``) parameter receive a
        managed instance bound to this manager. Process-wide."""
        install_globally(self)

    def init_app(self, app: FastAPI, *, handle_queue_full: bool = True) -> None:
        """Start and stop with ``app`` (composing with its own lifespan), commit new tasks
        before each response is sent, and install the injection. Safe to call twice.

        Args:
            app: The FastAPI application.
            handle_queue_full: Answer a ``QueueFullError`` escaping an endpoint with ``429 Too
                Many Requests`` and a ``Retry-After`` header (unless the app already has a
                handler for it). ``False`` leaves it to the app.
        """
        attach_to_app(app, self)
        if handle_queue_full:
            install_queue_full_response(app)
        self.install(app)

    async def startup(self) -> None:
        """Open storage, start background work and recover unfinished tasks."""
        await self.service.startup()

    async def shutdown(self) -> None:
        """Interrupt running tasks, write everything to storage and release resources."""
        await self.service.shutdown()


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _optional_count(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be None or an integer >= 1, got {value!r}")


def _whole(name: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
