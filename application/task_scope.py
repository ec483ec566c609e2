"""The scope a running task's code sees through ``task_log()`` and ``get_task_context()``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.events import LogLevel
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.tracing import AttemptSpan


class RecordScope:
    """Binds one attempt of a task to its record; log lines land on the record and observers,
    and on the attempt's span when the attempt is traced."""

    def __init__(
        self, record: TaskRecord, recorder: ChangeRecorder, span: AttemptSpan | None = None
    ) -> None:
        self._record = record
        self._recorder = recorder
        self._span = span
        self._closed = False
        self._context = TaskContext(
            task_id=record.task_id,
            func_name=record.func_name,
            attempt=record.attempt,
            tags=dict(record.tags),
        )

    @property
    def context(self) -> TaskContext:
        return self._context

    def close(self) -> None:
        """The attempt was given up on: lines it logs from now on are dropped.

        A thread left running past its timeout can still call ``task_log()``; its lines must
        not land on a record that has moved on to its next attempt or its final status.
        """
        self._closed = True

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        if self._closed:
            return
        self._recorder.logged(self._record, level, message, extra, timestamp)
        if self._span is not None:
            # Written at once, on the calling thread: observers hear of the line later, when
            # the span may have ended.
            self._span.log(level, message, extra, timestamp)
