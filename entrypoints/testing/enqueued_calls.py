"""How the testing kit compares and prints the calls tasks were enqueued with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi_taskflow.domain.task import TaskRecord

#: One enqueued task with the arguments it runs with.
Call = tuple[TaskRecord, tuple[tuple[Any, ...], dict[str, Any]]]


def matches_call(
    actual: tuple[tuple[Any, ...], dict[str, Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> bool:
    """Whether a task's arguments equal ``args`` and ``kwargs`` exactly."""
    actual_args, actual_kwargs = actual
    return tuple(actual_args) == tuple(args) and dict(actual_kwargs) == dict(kwargs)


def describe_call(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """``send_email('a@example.com', urgent=True)``."""
    parts = [repr(arg) for arg in args]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def describe_calls(calls: Sequence[Call], *, header: bool = True) -> str:
    """A list of enqueued tasks, one a line, for assertion messages."""
    if not calls:
        return "nothing was enqueued" if header else ""
    lines = [
        f"  - {describe_call(record.func_name, args, kwargs)} [{_state(record)}]"
        for record, (args, kwargs) in calls
    ]
    text = "\n".join(lines)
    return f"enqueued:\n{text}" if header else text


def _state(record: TaskRecord) -> str:
    parts = [record.status.value]
    if record.start_time is not None:  # a task that never started has made no attempt
        parts.append(f"attempt {record.attempt}")
    if record.error:
        parts.append(record.error)
    parts.append(f"id {record.task_id}")
    return ", ".join(parts)
