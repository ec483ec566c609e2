"""Functions that task code calls: ``task_log()`` and ``get_task_context()``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.events import parse_level
from fastapi_taskflow.ports.execution import current_task_scope

#: Where ``task_log()`` goes when it is called outside a managed task.
fallback_logger = logging.getLogger("fastapi_taskflow.task")

_STDLIB_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def task_log(message: str, level: str = "info", **extra: Any) -> None:
    """Write a log line for the running task.

    Inside a task the line is stored on the task record (shown in the dashboard) and sent to
    every observer as a ``LogEvent``, with ``extra`` as structured fields. Outside a task (a
    route, a script, a unit test calling the function directly) it goes to the standard
    logger ``fastapi_taskflow.task`` at the same level, so task code works in every context.

    Args:
        message: The text of the line.
        level: ``"debug"``, ``"info"``, ``"warning"`` or ``"error"``.
        **extra: Structured fields forwarded to observers.

    Raises:
        ValueError: For an unknown level.
    """
    parsed = parse_level(level)
    scope = current_task_scope.get()
    if scope is None:
        fallback_logger.log(_STDLIB_LEVELS[parsed], message, extra={"taskflow": extra})
        return
    scope.log(parsed, str(message), extra)


def get_task_context() -> TaskContext | None:
    """The running task's ``task_id``, ``func_name``, ``attempt`` and ``tags``.

    Works in sync and async tasks and in any helper they call; returns ``None`` outside a task.
    """
    scope = current_task_scope.get()
    return scope.context if scope is not None else None
