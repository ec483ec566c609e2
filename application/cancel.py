"""Cancelling a task that has not finished."""

from __future__ import annotations

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.dispatcher import Dispatcher
from fastapi_taskflow.domain.errors import InvalidTransition, TaskNotFound
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock


async def cancel_task(
    task_id: str, *, recorder: ChangeRecorder, dispatcher: Dispatcher, clock: Clock
) -> TaskRecord:
    """Cancel a pending or running task of this process.

    A pending task never starts. A running async task is cancelled at its next ``await``; a
    running sync or process task stops being awaited and is marked cancelled at once, although
    the call itself may finish in its thread or worker.

    Raises:
        TaskNotFound: No such task in this process.
        InvalidTransition: The task already finished.
    """
    record = recorder.store.get(task_id)
    if record is None:
        raise TaskNotFound(task_id)
    if record.status is TaskStatus.PENDING:
        record.cancel(clock.now())
        recorder.changed(record)
        dispatcher.cancel(task_id)
        return record
    if record.status is TaskStatus.RUNNING and await dispatcher.cancel_and_wait(task_id):
        return record
    raise InvalidTransition(task_id, record.status, TaskStatus.CANCELLED)
