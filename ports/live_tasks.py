"""A view of the tasks a process is working on, for observers that report on them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from fastapi_taskflow.domain.task import TaskRecord


class LiveTasks(Protocol):
    """The pending and running tasks this process holds, read at the moment of asking."""

    def live(self) -> list[TaskRecord]:
        """A snapshot of the pending and running tasks (safe to call from any thread)."""
        ...


@runtime_checkable
class QueueNames(Protocol):
    """A live-task source that also knows the configured queues (empty ones included)."""

    def queue_names(self) -> list[str]:
        """The names of the configured queues."""
        ...


@runtime_checkable
class LiveTasksObserver(Protocol):
    """An observer that wants to read the live tasks of the manager it is attached to.

    Events describe changes, and an observer may miss some (delivery drops the oldest ones
    under overload); a figure such as a queue depth read from the live tasks at the moment it
    is needed cannot drift. The task manager binds every observer of this kind when it is
    built, so users write no glue.
    """

    def bind_live_tasks(self, source: LiveTasks) -> None:
        """Read live tasks from ``source`` from now on.

        Raises:
            ValueError: The observer is already bound to another source.
        """
        ...
