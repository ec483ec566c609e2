"""The worker-process side of the process executor: run one call and report how it went.

Kept free of asyncio and of the parent-side code so a fresh worker imports little.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import traceback
from collections.abc import Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import attrs

from fastapi_taskflow.adapters.executors.scoped_call import call_in_scope
from fastapi_taskflow.adapters.serialization.pickling import pickle_value, unpickle_value
from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.events import LogLevel

#: ``(task_id, func_name, attempt, tags)``: the task's identity, sent as plain data.
ContextFields = tuple[str, str, int, dict[str, str]]

# Frames of these modules are bookkeeping, not the user's code: left out of tracebacks.
_OWN_MODULES = frozenset({__name__, call_in_scope.__module__})


@attrs.frozen
class LoggedLine:
    """One log call made by the task in the worker, with the worker's timestamp."""

    level: LogLevel
    message: str
    extra: Mapping[str, Any]
    timestamp: datetime


@attrs.frozen(kw_only=True)
class WorkerOutcome:
    """What the parent needs from one call: its result or error, and what it logged."""

    result: Any = None
    error: BaseException | None = None
    #: The worker's formatted traceback of ``error``.
    traceback_text: str = ""
    logs: tuple[LoggedLine, ...] = ()


class CollectingScope:
    """The task scope inside a worker: keeps log lines until the call is over. Thread-safe."""

    def __init__(self, context: TaskContext) -> None:
        self._context = context
        self._lock = threading.Lock()
        self._lines: list[LoggedLine] = []

    @property
    def context(self) -> TaskContext:
        """The running task's identity and attempt, as the parent knows them."""
        return self._context

    def log(
        self,
        level: LogLevel,
        message: str,
        extra: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> None:
        """Keep a log line, stamped now (UTC) unless a timestamp is given."""
        stamp = timestamp if timestamp is not None else datetime.now(timezone.utc)
        line = LoggedLine(level, message, dict(extra), stamp)
        with self._lock:
            self._lines.append(line)

    def lines(self) -> tuple[LoggedLine, ...]:
        """Every line logged so far, in order."""
        with self._lock:
            return tuple(self._lines)


def ignore_interrupts() -> None:
    """Pool initializer: leave Ctrl+C to the parent.

    The terminal sends SIGINT to the whole process group; without this, workers would die
    mid-call before the parent's graceful shutdown decides how long to wait for them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_call(fields: ContextFields, payload: bytes) -> bytes:
    """Unpickle ``(func, args, kwargs)``, call it with a collecting scope, pickle the outcome.

    Never raises for anything the task does: failures travel back inside the outcome.
    """
    task_id, func_name, attempt, tags = fields
    scope = CollectingScope(
        TaskContext(task_id=task_id, func_name=func_name, attempt=attempt, tags=tags)
    )
    try:
        func, args, kwargs = unpickle_value(payload)
        # A fresh context per call: nothing the task sets survives into the next call.
        result = contextvars.Context().run(call_in_scope, scope, func, args, kwargs)
    except Exception as exc:
        outcome = WorkerOutcome(
            error=exc, traceback_text=format_traceback(exc), logs=scope.lines()
        )
    else:
        outcome = WorkerOutcome(result=result, logs=scope.lines())
    return encode_outcome(outcome)


def format_traceback(exc: BaseException) -> str:
    """The traceback text of ``exc``, starting at the task's own frames."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in _OWN_MODULES:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def encode_outcome(outcome: WorkerOutcome) -> bytes:
    """Pickle ``outcome``, replacing whatever part of it cannot make the trip."""
    if outcome.error is not None and not _round_trips(outcome.error):
        outcome = attrs.evolve(outcome, error=_stand_in(outcome.error))
    try:
        return pickle_value(outcome)
    except Exception:
        pass
    # Something in the result or in a log line's extra fields cannot be pickled.
    logs = tuple(_portable_line(line) for line in outcome.logs)
    outcome = attrs.evolve(outcome, logs=logs)
    try:
        pickle_value(outcome.result)
    except Exception as exc:
        kind = type(outcome.result)
        error = TypeError(
            f"the result ({kind.__module__}.{kind.__qualname__}) cannot be pickled back to "
            f"the parent process: {exc}"
        )
        outcome = attrs.evolve(outcome, result=None, error=error, traceback_text="")
    return pickle_value(outcome)


def _round_trips(error: BaseException) -> bool:
    # Pickling can succeed while unpickling fails (e.g. an __init__ with extra required
    # arguments), so try both here rather than fail in the parent.
    try:
        unpickle_value(pickle_value(error))
    except Exception:
        return False
    return True


def _stand_in(error: BaseException) -> RuntimeError:
    kind = type(error)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    return RuntimeError(f"{name}: {error}")


def _portable_line(line: LoggedLine) -> LoggedLine:
    extra: dict[str, Any] = {}
    for key, value in line.extra.items():
        try:
            pickle_value(value)
        except Exception:
            value = repr(value)
        extra[key] = value
    return attrs.evolve(line, extra=extra)
