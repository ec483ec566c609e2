"""Task functions for the process executor tests.

Worker processes import this module by name, so the tests put this folder on ``sys.path``
(workers inherit it) rather than relying on pytest's own import of test modules.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi_taskflow.ports.execution import current_task_scope


class LockedError(Exception):
    """An exception that cannot be pickled: it holds a lock."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def add(a: int, b: int) -> int:
    return a + b


def worker_pid() -> int:
    return os.getpid()


def apply(func: Callable[[Any], Any], value: Any) -> Any:
    return func(value)


def fail(message: str) -> None:
    raise ValueError(message)


def fail_unpicklably(message: str) -> None:
    raise LockedError(message)


def unpicklable_result() -> Any:
    return threading.Lock()


def own_context() -> tuple[str, str, int, dict[str, str]]:
    scope = current_task_scope.get()
    assert scope is not None
    context = scope.context
    return context.task_id, context.func_name, context.attempt, dict(context.tags)


def chatty(stamp: datetime) -> str:
    scope = current_task_scope.get()
    assert scope is not None
    scope.log("info", "one", {"n": 1})
    scope.log("warning", "two", {}, timestamp=stamp)
    scope.log("error", "three", {"guard": threading.Lock()})
    return "said three things"


def report_pid_then_block(path: str) -> None:
    partial = Path(f"{path}.partial")
    partial.write_text(str(os.getpid()))
    partial.rename(path)  # the reader never sees a half-written file
    time.sleep(60)
