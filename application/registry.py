"""The functions registered as tasks, with their configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from fastapi_taskflow.domain.callables import is_async_callable
from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Executor


@attrs.frozen
class RegisteredTask:
    """A function together with how it runs."""

    func: Callable[..., Any]
    config: TaskConfig
    executor: ExecutorKind

    @property
    def name(self) -> str:
        return self.config.name


class TaskRegistry:
    """Registered task functions, found by function object or by name.

    The name is what storage records, so it is how a task is found again after a restart.
    """

    def __init__(self, executors: Mapping[ExecutorKind, Executor]) -> None:
        self._executors = executors
        self._by_name: dict[str, RegisteredTask] = {}
        self._by_func: dict[Callable[..., Any], RegisteredTask] = {}
        self._adhoc: dict[str, RegisteredTask] = {}

    def register(self, func: Callable[..., Any], config: TaskConfig) -> RegisteredTask:
        """Register ``func``; raises ``ValueError`` when it cannot run on its executor or its
        name is already taken by a different function."""
        kind = self.executor_kind_for(func, config.executor)
        existing = self._by_name.get(config.name)
        if existing is not None and not _same_function(existing.func, func):
            raise ValueError(
                f"a different function is already registered as task {config.name!r} "
                f"({_describe(existing.func)}); pass name=... to tell them apart"
            )
        entry = RegisteredTask(func=func, config=config, executor=kind)
        if existing is not None:
            self._by_func.pop(existing.func, None)
        self._by_name[config.name] = entry
        self._by_func[func] = entry
        return entry

    def executor_kind_for(
        self, func: Callable[..., Any], forced: ExecutorKind | None
    ) -> ExecutorKind:
        """The executor ``func`` runs on: the forced one (checked to fit) or the natural one."""
        if not callable(func):
            raise ValueError(f"a task must be callable, got {func!r}")
        kind = forced or (ExecutorKind.ASYNC if is_async_callable(func) else ExecutorKind.THREAD)
        executor = self._executors.get(kind)
        if executor is None:
            raise ValueError(f"executor {kind.value!r} is not available in this task manager")
        executor.check_function(func)
        return kind

    def adhoc(self, func: Callable[..., Any]) -> RegisteredTask:
        """An entry for a function passed to ``add_task()`` without being registered.

        It runs once with default options under its qualified name. It is not listed with the
        registered tasks, and a process that has not seen it cannot run it from storage.
        """
        name = f"{getattr(func, '__module__', None) or '?'}.{_qualname(func)}"
        entry = self._adhoc.get(name)
        if entry is None or not _same_function(entry.func, func):
            kind = self.executor_kind_for(func, None)
            entry = RegisteredTask(func=func, config=TaskConfig(name=name), executor=kind)
            self._adhoc[name] = entry
        return entry

    def resolve(self, name: str) -> RegisteredTask | None:
        """The registered (or ad-hoc) task stored under ``name``."""
        return self._by_name.get(name) or self._adhoc.get(name)

    def executor(self, kind: ExecutorKind) -> Executor:
        return self._executors[kind]

    def get(self, func: Callable[..., Any]) -> RegisteredTask | None:
        """The registration of ``func``, if any."""
        try:
            return self._by_func.get(func)
        except TypeError:  # unhashable callables cannot have been registered
            return None

    def get_by_name(self, name: str) -> RegisteredTask | None:
        return self._by_name.get(name)

    def get_config(self, func: Callable[..., Any]) -> TaskConfig | None:
        """The configuration of ``func``, or ``None`` when it is not registered."""
        entry = self.get(func)
        return entry.config if entry else None

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._by_name
        return callable(item) and self.get(item) is not None

    def __iter__(self) -> Iterator[RegisteredTask]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)


def default_task_name(func: Callable[..., Any]) -> str:
    """The name a function is registered under when none is given: its ``__name__``."""
    name = getattr(func, "__name__", None)
    if isinstance(name, str):
        return name
    return type(func).__name__


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # A module imported twice (or reloaded) yields equal-looking but distinct functions.
    return a is b or (
        getattr(a, "__module__", None) == getattr(b, "__module__", None)
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
    )


def _qualname(func: Callable[..., Any]) -> str:
    name = getattr(func, "__qualname__", None)
    return name if isinstance(name, str) else type(func).__qualname__


def _describe(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{_qualname(func)}"
