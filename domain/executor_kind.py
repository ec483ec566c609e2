"""Where a task's function runs."""

from __future__ import annotations

import enum


class ExecutorKind(str, enum.Enum):
    """The executor a task runs on."""

    #: Awaited on the application's event loop (coroutine functions).
    ASYNC = "async"
    #: Called in a worker thread (plain functions).
    THREAD = "thread"
    #: Called in a separate OS process (CPU-bound, module-level functions).
    PROCESS = "process"

    @classmethod
    def parse(cls, value: str | ExecutorKind) -> ExecutorKind:
        """Read an executor name, rejecting unknown ones with the list of valid names."""
        if isinstance(value, ExecutorKind):
            return value
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(repr(kind.value) for kind in cls)
            raise ValueError(f"unknown executor {value!r}; expected one of {names}") from None
