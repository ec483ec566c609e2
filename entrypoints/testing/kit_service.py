"""The application service and change recorder the testing kit builds in place of the
manager's own: the same classes, with the two behaviours a test needs changed."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.task_service import TaskService
from fastapi_taskflow.domain.task import TaskRecord


class KitTaskService(TaskService):
    """A :class:`TaskService` whose after-response runs do not hold the request open.

    FastAPI awaits a request's background tasks before the ASGI call returns. Under the kit
    a retry wait is a sleep on the fake clock, which only the test can move, so waiting for
    the task there would block the test's own request for ever. The task starts as usual and
    the test moves it on with ``run_until_idle()``.
    """

    async def execute(self, task_id: str, context: contextvars.Context | None = None) -> None:
        await self.ready()
        self.dispatcher.start(task_id, context)


class RecordingChanges(ChangeRecorder):
    """A :class:`ChangeRecorder` that also remembers every task created, in order.

    The working set forgets finished tasks past its window and holds no order; tests ask
    "what was enqueued, in what order", so the kit keeps its own list.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._created: list[TaskRecord] = []
        self._created_lock = threading.Lock()
        #: Grows with every change and log line: the kit compares it to see the loop at rest.
        self.revision = 0

    def created(self, record: TaskRecord) -> None:
        with self._created_lock:
            self._created.append(record)
        super().created(record)

    def changed(self, *args: Any, **kwargs: Any) -> None:
        self.revision += 1
        super().changed(*args, **kwargs)

    def annotated(self, *args: Any, **kwargs: Any) -> None:
        self.revision += 1
        super().annotated(*args, **kwargs)

    def logged(self, *args: Any, **kwargs: Any) -> None:
        self.revision += 1
        super().logged(*args, **kwargs)

    def created_records(self) -> list[TaskRecord]:
        """Every task created since the kit started, oldest first."""
        with self._created_lock:
            return list(self._created)
