"""Fixtures for the executor tests: a task scope that records what it is told."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import pytest

from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.events import LogLevel


@attrs.frozen
class RecordedLine:
    level: LogLevel
    message: str
    extra: Mapping[str, Any]
    timestamp: datetime | None


class RecordingScope:
    """A real TaskScope for tests: keeps every log call, from any thread."""

    def __init__(self, context: TaskContext) -> None:
        self._context = context
        self._lock = threading.Lock()
        self.lines: list[RecordedLine] = []

    @property
    def context(self) -> TaskContext:
        return self._context

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        with self._lock:
            self.lines.append(RecordedLine(level, message, dict(extra), timestamp))


@pytest.fixture
def make_scope() -> Callable[..., RecordingScope]:
    """Build a RecordingScope for a task id (and optionally attempt and tags)."""

    def make(
        task_id: str = "task-1",
        func_name: str = "job",
        attempt: int = 1,
        tags: Mapping[str, str] | None = None,
    ) -> RecordingScope:
        context = TaskContext(
            task_id=task_id, func_name=func_name, attempt=attempt, tags=dict(tags or {})
        )
        return RecordingScope(context)

    return make
