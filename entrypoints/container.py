"""The composition root: the only place where adapters are chosen and wired together."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from dependency_injector import containers, providers

from fastapi_taskflow.adapters.clock import SystemClock
from fastapi_taskflow.adapters.crypto import FernetCipher, PlainCipher
from fastapi_taskflow.adapters.events import MemoryEventStream
from fastapi_taskflow.adapters.executors.async_executor import AsyncExecutor
from fastapi_taskflow.adapters.executors.process_executor import ProcessExecutor
from fastapi_taskflow.adapters.executors.thread_executor import ThreadExecutor
from fastapi_taskflow.adapters.observers import FileLogger, LoggerChain
from fastapi_taskflow.adapters.serialization.tagged_json import TaggedJsonSerializer
from fastapi_taskflow.application.argument_codec import ArgumentCodec
from fastapi_taskflow.application.attempt_tracing import AttemptTracing
from fastapi_taskflow.application.audit_log import AuditLog
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.dispatcher import Dispatcher
from fastapi_taskflow.application.enqueue import Enqueuer
from fastapi_taskflow.application.loop_bridge import LoopBridge
from fastapi_taskflow.application.observer_feed import ObserverFeed
from fastapi_taskflow.application.one_off_schedules import OneOffSchedules
from fastapi_taskflow.application.operator_actions import OperatorActions
from fastapi_taskflow.application.periodic_schedules import PeriodicSchedules
from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.queues import Queues
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.application.run_task import TaskRunner
from fastapi_taskflow.application.scheduled_runs import ScheduledRuns
from fastapi_taskflow.application.scheduler import Scheduler
from fastapi_taskflow.application.task_retries import TaskRetries
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.storage_selection import build_broadcast, build_storage
from fastapi_taskflow.ports.cipher import Cipher
from fastapi_taskflow.ports.execution import Executor
from fastapi_taskflow.ports.live_tasks import LiveTasks, LiveTasksObserver
from fastapi_taskflow.ports.observers import TaskObserver
from fastapi_taskflow.ports.serializer import Serializer
from fastapi_taskflow.ports.storage import TaskStorage
from fastapi_taskflow.ports.tracing import TaskTracer


def build_executors(
    max_sync_threads: int | None,
    max_process_workers: int | None,
    process_shutdown_timeout: float,
) -> dict[ExecutorKind, Executor]:
    return {
        ExecutorKind.ASYNC: AsyncExecutor(),
        ExecutorKind.THREAD: ThreadExecutor(max_workers=max_sync_threads),
        ExecutorKind.PROCESS: ProcessExecutor(
            max_workers=max_process_workers, shutdown_timeout=process_shutdown_timeout
        ),
    }


def build_cipher(keys: bytes | str | Sequence[bytes | str] | None) -> Cipher:
    return PlainCipher() if keys is None else FernetCipher(keys)


def build_observer(
    loggers: Sequence[TaskObserver] | None,
    log_file: str | None,
    log_file_max_bytes: int,
    log_file_backup_count: int,
    log_file_mode: str,
    log_lifecycle: bool,
    live_tasks: LiveTasks | None = None,
) -> LoggerChain | None:
    """The observer chain, or ``None`` when nothing observes tasks.

    Observers that report on the live tasks (``LiveTasksObserver``) are bound to
    ``live_tasks`` here, so users never connect them by hand.
    """
    observers = list(loggers or [])
    for observer in observers:
        if not isinstance(observer, TaskObserver):
            raise TypeError(
                f"loggers must be TaskObserver instances, got {type(observer).__name__}"
            )
    if log_file is not None:
        target = Path(os.path.abspath(log_file))
        if not any(isinstance(o, FileLogger) and o.path == target for o in observers):
            observers.append(
                FileLogger(
                    log_file,
                    max_bytes=log_file_max_bytes,
                    backup_count=log_file_backup_count,
                    mode=log_file_mode,
                    log_lifecycle=log_lifecycle,
                )
            )
    if live_tasks is not None:
        # Last, so a manager that failed to build leaves its observers free for the next.
        bind_live_tasks(observers, live_tasks)
    return LoggerChain(observers) if observers else None


def build_tracing(loggers: Sequence[TaskObserver] | None) -> AttemptTracing:
    """Attempt tracing through the one observer that can trace (``OpenTelemetryObserver``),
    if ``loggers`` holds one (directly or inside a ``LoggerChain``)."""
    tracers = [
        observer for observer in _flattened(loggers or []) if isinstance(observer, TaskTracer)
    ]
    if len(tracers) > 1:
        names = ", ".join(type(tracer).__name__ for tracer in tracers)
        raise ValueError(
            f"loggers may hold at most one tracing observer, got {len(tracers)} ({names}): "
            "each attempt runs inside one span"
        )
    return AttemptTracing(tracers[0] if tracers else None)


def bind_live_tasks(observers: Sequence[TaskObserver], live_tasks: LiveTasks) -> None:
    """Give every observer that wants them (chains included) the manager's live tasks."""
    for observer in _flattened(observers):
        if isinstance(observer, LiveTasksObserver):
            observer.bind_live_tasks(live_tasks)


class ProvidedLiveTasks:
    """The live tasks of the store the container provides at the moment of asking.

    Observers are bound once, when the manager is built; reading through the provider
    rather than holding the store keeps them right while the testing kit lays its own
    container (and store) over the manager's.
    """

    def __init__(
        self, store: Callable[[], TaskStore], queues: Callable[[], Queues] | None = None
    ) -> None:
        self._store = store
        self._queues = queues

    def live(self) -> list[TaskRecord]:
        return self._store().live()

    def queue_names(self) -> list[str]:
        """The configured queues, so a gauge reports empty ones as 0."""
        return [] if self._queues is None else self._queues().names()


def _flattened(observers: Sequence[TaskObserver]) -> list[TaskObserver]:
    found: list[TaskObserver] = []
    for observer in observers:
        if isinstance(observer, LoggerChain):
            found.extend(_flattened(observer.observers))
        else:
            found.append(observer)
    return found


def new_instance_id() -> str:
    """A fresh id for this process's task manager (it owns the tasks it creates)."""
    return uuid.uuid4().hex


def storage_serializer(storage: TaskStorage, serializer: Serializer) -> Serializer | None:
    # Only durable stores serialise arguments; for memory:// there is nothing to check.
    return serializer if storage.durable else None


class TaskflowContainer(containers.DeclarativeContainer):
    """Providers for one ``TaskManager``. Tests override them (``container.clock.override``)
    before the first task runs."""

    config = providers.Configuration()

    instance_id = providers.Singleton(new_instance_id)
    clock = providers.Singleton(SystemClock)
    serializer = providers.Singleton(TaggedJsonSerializer)
    storage = providers.Singleton(
        build_storage, config.storage_url, serializer, clock, config.storage_options
    )
    cipher = providers.Singleton(build_cipher, config.encrypt_args_key)
    events = providers.Singleton(MemoryEventStream)
    broadcast = providers.Singleton(
        build_broadcast, config.storage_url, instance_id, config.storage_options
    )
    store = providers.Singleton(TaskStore, config.recent_limit)
    queues = providers.Singleton(
        Queues,
        store=store,
        settings=storage,
        queues=config.queues,
        default_concurrency=config.max_concurrent_tasks,
        default_max_size=config.max_size,
    )
    observer = providers.Singleton(
        build_observer,
        config.loggers,
        config.log_file,
        config.log_file_max_bytes,
        config.log_file_backup_count,
        config.log_file_mode,
        config.log_lifecycle,
        live_tasks=providers.Factory(ProvidedLiveTasks, store.provider, queues.provider),
    )
    tracing = providers.Singleton(build_tracing, config.loggers)
    executors = providers.Singleton(
        build_executors,
        config.max_sync_threads,
        config.max_process_workers,
        config.process_shutdown_timeout,
    )

    registry = providers.Singleton(TaskRegistry, executors)
    bridge = providers.Singleton(LoopBridge)
    writer = providers.Singleton(
        WriteBehind, storage, clock, max_backlog=config.max_storage_backlog
    )
    feed = providers.Singleton(ObserverFeed, observer)
    recorder = providers.Singleton(
        ChangeRecorder,
        store=store,
        writer=writer,
        events=events,
        feed=feed,
        bridge=bridge,
        clock=clock,
        broadcast=broadcast,
    )
    codec = providers.Singleton(ArgumentCodec, serializer, cipher)
    runner = providers.Singleton(
        TaskRunner,
        registry=registry,
        recorder=recorder,
        codec=codec,
        clock=clock,
        idempotency=storage,
        tracing=tracing,
    )
    dispatcher = providers.Singleton(
        Dispatcher,
        runner=runner,
        queues=queues,
        recorder=recorder,
        registry=registry,
        clock=clock,
    )
    enqueuer = providers.Singleton(
        Enqueuer,
        registry=registry,
        recorder=recorder,
        codec=codec,
        clock=clock,
        instance_id=instance_id,
        storage_serializer=providers.Callable(storage_serializer, storage, serializer),
        tracing=tracing,
        queues=queues,
    )
    scheduled_runs = providers.Singleton(
        ScheduledRuns,
        registry=registry,
        enqueuer=enqueuer,
        recorder=recorder,
        dispatcher=dispatcher,
        clock=clock,
    )
    scheduler = providers.Singleton(
        Scheduler,
        periodic=providers.Singleton(
            PeriodicSchedules,
            slots=storage,
            new_run=scheduled_runs.provided.periodic,
            launch=scheduled_runs.provided.launch,
        ),
        one_offs=providers.Singleton(
            OneOffSchedules,
            runs=storage,
            new_run=scheduled_runs.provided.one_off,
            launch=scheduled_runs.provided.launch,
        ),
        clock=clock,
    )
    queries = providers.Singleton(
        TaskQueries, storage=storage, store=store, writer=writer, clock=clock
    )
    retries = providers.Singleton(
        TaskRetries,
        registry=registry,
        enqueuer=enqueuer,
        recorder=recorder,
        storage=storage,
        locks=storage,
        queries=queries,
        clock=clock,
        instance_id=instance_id,
        start=dispatcher.provided.start,
    )
    operator = providers.Singleton(
        OperatorActions,
        retries=retries,
        audit=providers.Singleton(AuditLog, trail=storage, clock=clock),
        queries=queries,
        storage=storage,
        store=store,
        writer=writer,
        clock=clock,
        recorder=recorder,
        dispatcher=dispatcher,
    )
    service = providers.Singleton(
        TaskService,
        instance_id=instance_id,
        registry=registry,
        storage=storage,
        recorder=recorder,
        enqueuer=enqueuer,
        dispatcher=dispatcher,
        queries=queries,
        feed=feed,
        bridge=bridge,
        clock=clock,
        # The store's own locks: shared by every instance using it.
        locks=storage,
        executors=executors,
        events=events,
        broadcast=broadcast,
        scheduler=scheduler,
        operator=operator,
        queues=queues,
        process_shutdown_timeout=config.process_shutdown_timeout,
        retention_days=config.retention_days,
        retention_interval=config.retention_interval,
        max_crash_reruns=config.max_crash_reruns,
        lease_ttl=config.lease_ttl,
    )
