"""The states a task moves through."""

from __future__ import annotations

import enum


class TaskStatus(str, enum.Enum):
    """Where a task is in its lifecycle.

    The string values are stable: they are stored in databases and returned by the REST API.
    """

    #: Accepted and waiting to run (or waiting for a retry slot after a restart).
    PENDING = "pending"
    #: Holding an execution slot; its function is being called (possibly between retries).
    RUNNING = "running"
    #: The function returned.
    SUCCESS = "success"
    #: Every attempt raised.
    FAILED = "failed"
    #: The process stopped while the task was running; it may have partially executed.
    INTERRUPTED = "interrupted"
    #: Cancelled by an operator or by code before it finished.
    CANCELLED = "cancelled"
    #: Refused at enqueue time (for example because its queue was full).
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """True when no further transition will happen without an explicit retry."""
        return self in TERMINAL_STATUSES

    @property
    def is_live(self) -> bool:
        """True while the task still occupies the system (waiting or running)."""
        return self in (TaskStatus.PENDING, TaskStatus.RUNNING)


TERMINAL_STATUSES = frozenset(
    {
        TaskStatus.SUCCESS,
        TaskStatus.FAILED,
        TaskStatus.INTERRUPTED,
        TaskStatus.CANCELLED,
        TaskStatus.REJECTED,
    }
)

#: Finished tasks that did not succeed: what the dashboard lists as dead letters, and what a
#: replay of a time window re-runs.
DEAD_LETTER_STATUSES = frozenset({TaskStatus.FAILED, TaskStatus.INTERRUPTED, TaskStatus.REJECTED})

#: Statuses an operator may retry a task from: the dead letters, and tasks cancelled on purpose
#: (a cancelled task is never retried in bulk by a time window).
RETRYABLE_STATUSES = DEAD_LETTER_STATUSES | {TaskStatus.CANCELLED}

#: A task in one of these statuses gives its idempotency key up to the next task that asks.
KEY_RELEASING_STATUSES = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.REJECTED})
