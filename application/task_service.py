"""The application service: starting up, accepting and running tasks, shutting down."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from fastapi_taskflow.application.cancel import cancel_task
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.dispatcher import Dispatcher
from fastapi_taskflow.application.enqueue import Enqueued, EnqueueOptions, Enqueuer
from fastapi_taskflow.application.loop_bridge import LoopBridge
from fastapi_taskflow.application.observer_feed import ObserverFeed
from fastapi_taskflow.application.operator_actions import OperatorActions
from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.queues import Queues
from fastapi_taskflow.application.recovery import DEFAULT_MAX_CRASH_RERUNS, recover_unfinished
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.application.schedule_overview import ScheduleOverview, overview
from fastapi_taskflow.application.scheduler import Scheduler
from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.limits import check_length
from fastapi_taskflow.domain.retention import (
    DEFAULT_RETENTION_INTERVAL,
    checked_retention_days,
    checked_retention_interval,
    retention_cutoff,
)
from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import TERMINAL_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.change_broadcast import ChangeBroadcast
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.event_stream import EventStream
from fastapi_taskflow.ports.execution import Executor
from fastapi_taskflow.ports.locks import LockManager
from fastapi_taskflow.ports.storage import TaskQuery, TaskStorage

_log = logging.getLogger("fastapi_taskflow")

#: Seconds an instance stays "alive" without renewing its lease (renewed every third of it).
DEFAULT_LEASE_TTL = 30.0
#: How often retention pruning runs when ``retention_days`` is set (unless configured).
RETENTION_INTERVAL = DEFAULT_RETENTION_INTERVAL
#: Longest a retention run may hold its lock should its instance die in the middle of it.
RETENTION_LOCK_TTL = 600.0
#: Lock names of duties one instance performs for all.
RECOVERY_LOCK = "taskflow:recovery"
RETENTION_LOCK = "taskflow:retention"
#: The ``before`` of :meth:`TaskService.list_scheduled` when none is given: every run.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)


class TaskService:
    """Everything the entrypoints ask of the application, in one place.

    The composition root builds it from ports and the application's parts; FastAPI and other
    entrypoints only talk to this object.
    """

    def __init__(
        self,
        *,
        instance_id: str,
        registry: TaskRegistry,
        storage: TaskStorage,
        recorder: ChangeRecorder,
        enqueuer: Enqueuer,
        dispatcher: Dispatcher,
        queries: TaskQueries,
        feed: ObserverFeed,
        bridge: LoopBridge,
        clock: Clock,
        locks: LockManager,
        executors: Mapping[ExecutorKind, Executor],
        events: EventStream,
        broadcast: ChangeBroadcast,
        scheduler: Scheduler,
        operator: OperatorActions,
        queues: Queues,
        process_shutdown_timeout: float = 30.0,
        thread_shutdown_timeout: float = 5.0,
        retention_days: float | None = None,
        retention_interval: float | None = None,
        max_crash_reruns: int = DEFAULT_MAX_CRASH_RERUNS,
        lease_ttl: float = DEFAULT_LEASE_TTL,
    ) -> None:
        self.instance_id = instance_id
        self.registry = registry
        self.storage = storage
        self.recorder = recorder
        self.enqueuer = enqueuer
        self.dispatcher = dispatcher
        self.queries = queries
        self.feed = feed
        self.bridge = bridge
        self.clock = clock
        self._locks = locks
        self._executors = executors
        self.events = events
        self._broadcast = broadcast
        self.scheduler = scheduler
        #: Audited operator commands (retry, replay, cancel, delete history) and the audit log.
        self.operator = operator
        #: The named queues: limits, live changes, backpressure and statistics.
        self.queues = queues
        self._max_crash_reruns = max_crash_reruns
        self._lease_ttl = lease_ttl
        self._process_shutdown_timeout = process_shutdown_timeout
        self._thread_shutdown_timeout = thread_shutdown_timeout
        self._started = False
        self._starting: asyncio.Task[None] | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._retention_days = checked_retention_days(retention_days)
        #: Seconds between two retention runs (the first comes soon after start-up).
        self.retention_interval = checked_retention_interval(
            RETENTION_INTERVAL if retention_interval is None else retention_interval
        )
        self._scheduler_start: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._started

    @property
    def retention_days(self) -> float | None:
        """Finished tasks older than this many days are deleted; ``None`` keeps them."""
        return self._retention_days

    @retention_days.setter
    def retention_days(self, days: float | None) -> None:
        self._retention_days = checked_retention_days(days)
        if days is not None and self._started:
            # memory:// runs no maintenance loop until something needs one.
            self.bridge.call(self._start_maintenance)

    # -- lifecycle ------------------------------------------------------------------------

    async def startup(self) -> None:
        """Open storage, start background work and recover unfinished tasks. Idempotent, and
        safe to call while a background start (see :meth:`ensure_started`) is under way."""
        if self._started:
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.get_running_loop().create_task(self._start())
        await asyncio.shield(self._starting)

    def ensure_started(self) -> None:
        """Start in the background if nobody called :meth:`startup` (no lifespan wired)."""
        if self._started or (self._starting is not None and not self._starting.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on the loop: calls are held by the bridge until startup
        self._starting = loop.create_task(self._start())
        self._starting.add_done_callback(_log_start_failure)

    async def ready(self) -> None:
        """Wait until started (starting now if needed)."""
        if not self._started:
            await self.startup()

    async def _start(self) -> None:
        await self.storage.open()
        await self._broadcast.open(self.events.publish)
        self.recorder.writer.start()
        self.feed.start()
        self._started = True
        # Calls held while no loop was known (enqueues from other threads) run from here on,
        # once storage is open.
        self.bridge.bind_running()
        await self._load_queue_settings()
        if self.storage.durable:
            await self._heartbeat()
            await self._recover()
            await self._remember_recent()
        # Stored one-off runs can only be waiting in a durable store; with memory:// the loop
        # starts with the first entry or run.
        if self.storage.durable or len(self.scheduler.periodic):
            await self.scheduler.start()
        if self.storage.durable or self._retention_days is not None:
            self._start_maintenance()

    def _start_maintenance(self) -> None:
        if self._started and (self._maintenance is None or self._maintenance.done()):
            self._maintenance = asyncio.get_running_loop().create_task(
                self._maintain(), name="taskflow-maintenance"
            )

    async def shutdown(self) -> None:
        """Interrupt what is still running, write everything out and release resources."""
        if self._starting is not None and not self._starting.done():
            await asyncio.gather(self._starting, return_exceptions=True)
        if not self._started:
            return
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
            self._maintenance = None
        await self.scheduler.stop()
        # Process tasks get their documented grace period before they count as interrupted.
        await self.dispatcher.wait_for(_runs_in_a_process, self._process_shutdown_timeout)
        interrupted = await self.dispatcher.interrupt_all()
        if interrupted:
            _log.info("shutdown interrupted %d running tasks", interrupted)
        if not await self.recorder.writer.stop():
            _log.error(
                "%d task changes could not be written to storage before shutdown",
                self.recorder.writer.backlog,
            )
        await self.feed.close()
        await self._broadcast.close()
        for kind, executor in self._executors.items():
            timeout = (
                self._process_shutdown_timeout
                if kind is ExecutorKind.PROCESS
                else self._thread_shutdown_timeout
            )
            await executor.shutdown(timeout)
        if self.storage.durable:
            try:
                await self.storage.release_instance(self.instance_id)
            except Exception:
                _log.exception("could not release this instance's lease")
        await self.storage.close()
        self.bridge.unbind()
        self._started = False

    # -- commands -------------------------------------------------------------------------

    def enqueue(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: EnqueueOptions | None = None,
    ) -> Enqueued:
        """Accept a task (see :class:`Enqueuer`). Safe to call from any thread."""
        return self.enqueuer.enqueue(func, args, kwargs, options)

    def dispatch_now(self, task_id: str, context: contextvars.Context | None = None) -> None:
        """Start a task immediately (eager or priority), from any thread."""
        self.bridge.call(self._start_on_loop, task_id, context)

    async def execute(self, task_id: str, context: contextvars.Context | None = None) -> None:
        """Run a task and wait for it (the after-response path)."""
        await self.ready()
        await self.dispatcher.execute(task_id, context)

    async def cancel(self, task_id: str) -> TaskRecord:
        """Cancel a pending or running task (see :func:`cancel_task`)."""
        return await cancel_task(
            task_id, recorder=self.recorder, dispatcher=self.dispatcher, clock=self.clock
        )

    def abandon_unstarted(self, task_ids: Sequence[str], reason: str) -> int:
        """Cancel tasks that were never dispatched and never will be (their request failed).

        Returns how many were cancelled; tasks that started or finished are left alone.
        """
        cancelled = 0
        for task_id in task_ids:
            record = self.recorder.store.get(task_id)
            if (
                record is None
                or record.status is not TaskStatus.PENDING
                or self.dispatcher.is_dispatched(task_id)
            ):
                continue
            record.cancel(self.clock.now())
            record.error = reason
            self.recorder.changed(record)
            cancelled += 1
        return cancelled

    async def record_audit(
        self,
        actor: str | None,
        action: AuditAction,
        task_ids: Sequence[str] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Add an entry to the audit log (sign-ins, and actions outside the operator
        commands, which audit themselves)."""
        await self.ready()
        return await self.operator.audit.record(actor, action, task_ids, detail)

    # -- schedules ------------------------------------------------------------------------

    def add_schedule(self, entry: ScheduleEntry) -> None:
        """Run the registered task ``entry.name`` on its trigger (from start-up on)."""
        self.check_schedule(entry)
        if self.registry.get_by_name(entry.name) is None:
            raise ValueError(f"schedule {entry.name!r} must name a registered task")
        self.scheduler.periodic.add(entry, self.clock.now())
        if self._started:
            self.bridge.call(self._run_scheduler)
        self.scheduler.wake()

    def check_schedule(self, entry: ScheduleEntry) -> None:
        """Refuse a second, different schedule under the name of a scheduled task."""
        existing = self.scheduler.periodic.get(entry.name)
        if existing is not None and existing != entry:
            raise ValueError(
                f"task {entry.name!r} is already scheduled ({_describe(existing)}); "
                "pass name=... to schedule the function a second time"
            )

    def _run_scheduler(self) -> None:
        if not self.scheduler.running and (
            self._scheduler_start is None or self._scheduler_start.done()
        ):
            self._scheduler_start = asyncio.get_running_loop().create_task(
                self.scheduler.start(), name="taskflow-scheduler-start"
            )
            self._scheduler_start.add_done_callback(_log_scheduler_failure)

    async def schedule_once(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        run_at: datetime,
        run_key: str,
        options: EnqueueOptions | None = None,
    ) -> ScheduledOnce:
        """Store a run of ``func`` to start once at ``run_at`` (naive means UTC), replacing
        the run stored under ``run_key``, and return it as stored.

        Raises:
            ValueError: ``func`` is not a registered task, or a bad ``run_key`` or option.
            TypeError: ``run_at`` is not a datetime.
            TaskArgumentError: the arguments cannot reach the task's executor or storage.
        """
        options = options or EnqueueOptions()
        entry = self.registry.get(func)
        if entry is None:
            raise ValueError(
                f"schedule_once() needs a registered task; decorate "
                f"{getattr(func, '__qualname__', func)!r} with @task_manager.task(), since "
                "the run may start in another process, which finds the function by name"
            )
        if not isinstance(run_at, datetime):
            raise TypeError(f"run_at must be a datetime, got {type(run_at).__name__}")
        if not isinstance(run_key, str) or not run_key:
            raise ValueError(f"run_key must be a non-empty string, got {run_key!r}")
        check_length("run_key", run_key)
        if options.queue is not None:
            self.queues.check(options.queue)
        sealed = self.enqueuer.seal(entry, args, kwargs)
        await self.ready()
        run = ScheduledOnce(
            run_key=run_key,
            func_name=entry.name,
            run_at=as_utc(run_at),
            token=uuid.uuid4().hex,
            args=sealed.args,
            kwargs=sealed.kwargs,
            encrypted_payload=sealed.payload,
            tags=options.tags,
            priority=entry.config.priority if options.priority is None else options.priority,
            idempotency_key=options.idempotency_key,
            created_at=self.clock.now(),
            timeout=entry.config.timeout if options.timeout is None else options.timeout,
            queue=options.queue,
        )
        await self.storage.save_one_off(run)
        await self.scheduler.start()
        self.scheduler.one_offs.arm(run, self.clock.now())
        self.scheduler.wake()
        return run

    async def cancel_scheduled(self, run_key: str) -> bool:
        """Remove the one-off run stored under ``run_key``; False when there is none (it
        already started, was cancelled, or never existed)."""
        await self.ready()
        self.scheduler.one_offs.disarm(run_key)
        return await self.storage.delete_one_off(run_key)

    async def list_scheduled(
        self, before: datetime | None = None, *, limit: int = 1000
    ) -> Sequence[ScheduledOnce]:
        """Stored one-off runs due before ``before`` (default: all), soonest first."""
        await self.ready()
        bound = _END_OF_TIME if before is None else as_utc(before)
        return await self.storage.one_offs_due(bound, limit=limit)

    async def schedules(self) -> ScheduleOverview:
        """Every periodic entry with its next and last run, and the one-offs waiting."""
        await self.ready()
        return await overview(
            scheduler=self.scheduler,
            registry=self.registry,
            storage=self.storage,
            one_offs=self.storage,
            queries=self.queries,
            clock=self.clock,
        )

    async def flush(self) -> bool:
        """Write every buffered change to storage now."""
        return await self.recorder.writer.flush()

    # -- background duties ----------------------------------------------------------------

    def _start_on_loop(self, task_id: str, context: contextvars.Context | None) -> None:
        self.ensure_started()
        self.dispatcher.start(task_id, context)

    async def _recover(self) -> None:
        for record in await recover_unfinished(
            storage=self.storage,
            registry=self.registry,
            recorder=self.recorder,
            clock=self.clock,
            instance_id=self.instance_id,
            max_crash_reruns=self._max_crash_reruns,
        ):
            self.dispatcher.start(record.task_id)

    async def _sweep(self, period: float) -> None:
        # Claims are atomic, so sweeping is safe anywhere; the lock only spares the store N
        # identical sweeps per period. A crashed leader's lock expires within two periods.
        if not await self._locks.acquire(RECOVERY_LOCK, self.instance_id, ttl=2 * period):
            return
        try:
            await self._recover()
        finally:
            await self._locks.release(RECOVERY_LOCK, self.instance_id)

    async def _remember_recent(self) -> None:
        # Warm the working set with the latest finished tasks, so an idempotency key reused
        # right after a restart still finds its task (bounded by the store's recent_limit).
        limit = self.recorder.store.recent_limit
        if limit == 0:
            return
        page = await self.storage.query(TaskQuery(statuses=TERMINAL_STATUSES), limit=limit)
        for record in page.items:  # newest first; each is placed before those already held
            self.recorder.store.remember(record)

    async def _load_queue_settings(self) -> None:
        # Limits changed live (here before a restart, or by another instance) win over the
        # ones given in code; a storage hiccup keeps the current limits.
        try:
            await self.queues.load()
        except Exception:
            _log.exception("could not read the stored queue settings; keeping the current ones")

    async def _heartbeat(self) -> None:
        await self.storage.heartbeat(self.instance_id, self.clock.now(), self._lease_ttl)

    async def _maintain(self) -> None:
        period = self._lease_ttl / 3
        clock = self.clock
        next_duty = clock.monotonic() + period
        # The first retention run comes soon after start-up, then one per interval.
        next_prune = clock.monotonic() + min(period, self.retention_interval)
        while True:
            wake = next_duty if self._retention_days is None else min(next_duty, next_prune)
            await clock.sleep(max(0.0, wake - clock.monotonic()))
            now = clock.monotonic()
            try:
                if now >= next_duty:
                    next_duty = now + period
                    if self.storage.durable:
                        await self._heartbeat()
                        await self._load_queue_settings()
                        await self._sweep(period)
                if self._retention_days is not None and now >= next_prune:
                    next_prune = now + self.retention_interval
                    await self.prune_history()
            except Exception:
                _log.exception("background maintenance failed; will retry")

    async def prune_history(self) -> int:
        """Delete finished tasks that ended more than ``retention_days`` ago.

        Pending and running tasks are never touched, however old. Every instance forgets
        such tasks from its memory; in storage, one instance at a time deletes them (the
        others find the lock taken, or nothing left to delete). A run that deletes something
        is recorded in the audit log as ``retention``, with no actor.

        Returns:
            How many tasks this call deleted from storage.
        """
        days = self._retention_days
        if days is None:
            return 0
        cutoff = retention_cutoff(self.clock.now(), days)
        self.recorder.store.drop_finished_before(cutoff)
        if not await self._locks.acquire(RETENTION_LOCK, self.instance_id, RETENTION_LOCK_TTL):
            _log.debug("retention skipped by %s: another instance is pruning", self.instance_id)
            return 0
        try:
            await self.recorder.writer.flush()
            deleted = await self.storage.delete_finished_before(cutoff)
        finally:
            await self._locks.release(RETENTION_LOCK, self.instance_id)
        _log.debug("retention run by %s deleted %d tasks", self.instance_id, deleted)
        if deleted:
            _log.info("retention removed %d finished tasks that ended before %s", deleted, cutoff)
            await self.operator.audit.record(
                None,
                AuditAction.RETENTION,
                detail={"cutoff": cutoff.isoformat(), "retention_days": days, "deleted": deleted},
            )
        return deleted


def _describe(entry: ScheduleEntry) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in entry.trigger.describe().items())


def _runs_in_a_process(record: TaskRecord) -> bool:
    return record.executor is ExecutorKind.PROCESS and record.status is TaskStatus.RUNNING


def _log_scheduler_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("the scheduler could not start", exc_info=task.exception())


def _log_start_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("fastapi-taskflow could not start", exc_info=task.exception())
