"""The tasks schedules start: built like any other task, and run on the same path."""

from __future__ import annotations

from datetime import datetime

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.dispatcher import Dispatcher
from fastapi_taskflow.application.enqueue import Enqueuer, SealedArguments
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.domain.events import format_log_line
from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock


class ScheduledRuns:
    """Makes the pending task of a firing and, once its claim is won, starts it.

    A scheduled task is an ordinary task with ``source="scheduled"``: the same retries,
    logs, storage, recovery and dashboard as one enqueued by ``add_task()``.
    """

    def __init__(
        self,
        *,
        registry: TaskRegistry,
        enqueuer: Enqueuer,
        recorder: ChangeRecorder,
        dispatcher: Dispatcher,
        clock: Clock,
    ) -> None:
        self._registry = registry
        self._enqueuer = enqueuer
        self._recorder = recorder
        self._dispatcher = dispatcher
        self._clock = clock

    def periodic(self, entry: ScheduleEntry, slot: datetime | None) -> TaskRecord:
        """The run of ``entry`` for ``slot`` (``None``: its start-up run)."""
        registered = self._registry.get_by_name(entry.name)
        if registered is None:  # entries are registered with their function
            raise LookupError(f"schedule {entry.name!r} has no registered task")
        record = self._enqueuer.new_record(
            registered,
            SealedArguments(),
            priority=registered.config.priority,
            source="scheduled",
        )
        note = "run at start-up" if slot is None else f"run for the slot of {slot.isoformat()}"
        record.add_log(format_log_line(record.created_at, f"--- Scheduled {note} ---"))
        return record

    def one_off(self, run: ScheduledOnce) -> TaskRecord | None:
        """The task ``run`` starts; ``None`` when its function is not registered here."""
        registered = self._registry.get_by_name(run.func_name)
        if registered is None:
            return None
        record = self._enqueuer.new_record(
            registered,
            SealedArguments(args=run.args, kwargs=run.kwargs, payload=run.encrypted_payload),
            tags=run.tags,
            idempotency_key=run.idempotency_key,
            priority=run.priority,
            source="scheduled",
            timeout=run.timeout,
            queue=run.queue,
        )
        note = f"--- Scheduled once as {run.run_key!r} for {run.run_at.isoformat()} ---"
        record.add_log(format_log_line(record.created_at, note))
        return record

    def launch(self, record: TaskRecord) -> None:
        """Start a task whose claim this instance won (it is already in storage)."""
        self._recorder.created(record)
        self._dispatcher.start(record.task_id)
