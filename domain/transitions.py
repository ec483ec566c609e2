"""The table of legal status changes.

Every status change of a :class:`~fastapi_taskflow.domain.task.TaskRecord` is checked against this
table, so an impossible history (a finished task running again, a cancelled task succeeding) can
never be written.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi_taskflow.domain.status import TaskStatus

_P, _R = TaskStatus.PENDING, TaskStatus.RUNNING

ALLOWED_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset(
        {TaskStatus.RUNNING, TaskStatus.CANCELLED, TaskStatus.REJECTED, TaskStatus.FAILED}
    ),
    TaskStatus.RUNNING: frozenset(
        {
            TaskStatus.SUCCESS,
            TaskStatus.FAILED,
            TaskStatus.CANCELLED,
            TaskStatus.INTERRUPTED,
            # Back to pending: crash recovery of a task marked requeue_on_interrupt.
            TaskStatus.PENDING,
        }
    ),
    # Requeue of an interrupted task on the next start-up.
    TaskStatus.INTERRUPTED: frozenset({TaskStatus.PENDING}),
    TaskStatus.SUCCESS: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
    TaskStatus.REJECTED: frozenset(),
}


def is_allowed(current: TaskStatus, target: TaskStatus) -> bool:
    """Whether a task in ``current`` may move to ``target``."""
    return target in ALLOWED_TRANSITIONS[current]
