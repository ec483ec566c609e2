"""Change notifications, for live views such as the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import attrs

from fastapi_taskflow.domain.status import TaskStatus


@attrs.frozen(kw_only=True)
class TaskChange:
    """A task was created or changed; readers fetch the record when they need more."""

    task_id: str
    func_name: str
    status: TaskStatus


class EventStream(Protocol):
    """Publish task changes; subscribers receive the ones published after they subscribed."""

    def publish(self, change: TaskChange) -> None:
        """Send a change to every current subscriber without waiting."""
        ...

    def subscribe(self) -> AsyncIterator[TaskChange]:
        """Changes as they happen. A subscriber that falls behind loses the oldest ones."""
        ...
