"""``ManagedBackgroundTasks``: FastAPI's ``BackgroundTasks``, with task ids and tracking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import BackgroundTasks

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.entrypoints.fastapi.timeout_keyword import route_timeout

if TYPE_CHECKING:
    from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager

#: The manager bound by ``install()``; FastAPI creates instances without arguments.
_installed: list[TaskManager] = []


class ManagedBackgroundTasks(BackgroundTasks):
    """Background tasks with retries, persistence and status tracking.

    A drop-in subclass of FastAPI's ``BackgroundTasks``: the request's task list is the same,
    and tasks still start after the response is sent, in order. ``add_task`` additionally
    returns the task id and accepts these keyword-only options, which are not passed to the
    function:

    - ``tags``: ``dict[str, str]`` labels forwarded to every log and lifecycle event;
    - ``idempotency_key``: a key that makes a repeated submission return the original task id;
    - ``priority``: start at once, ordered by priority when slots are limited;
    - ``eager``: start at once instead of after the response;
    - ``queue``: the named queue to wait in (overrides the task's own ``queue``);
    - ``timeout``: seconds each attempt may run (overrides the task's own ``timeout``); for a
      function that declares a ``timeout`` parameter itself, it is passed to the function, as
      before 1.0.
    """

    def __init__(self, task_manager: TaskManager | None = None, tasks: Any = None) -> None:
        super().__init__(tasks)
        self._task_manager = task_manager or (_installed[-1] if _installed else None)
        manager = self._task_manager
        if manager is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            manager.service.ensure_started()

    def add_task(  # type: ignore[override]
        self,
        func: Callable[..., Any],
        *args: Any,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        priority: int | None = None,
        eager: bool | None = None,
        queue: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Enqueue ``func(*args, **kwargs)`` and return its task id.

        Raises:
            ValueError: For invalid options or an unknown queue.
            QueueFullError: The queue already holds ``max_size`` waiting tasks.
            TaskArgumentError: When the arguments cannot reach the executor or storage.
            RuntimeError: When this object is not bound to a ``TaskManager``.
        """
        manager = self._task_manager
        if manager is None:
            raise RuntimeError(
                "ManagedBackgroundTasks is not bound to a TaskManager: call "
                "task_manager.install(app) (or TaskAdmin(..., auto_install=True)), or inject "
                "Depends(task_manager.get_tasks)"
            )
        timeout = route_timeout(func, timeout, kwargs)
        options = EnqueueOptions(
            tags=tags,
            idempotency_key=idempotency_key,
            priority=priority,
            eager=eager,
            queue=queue,
            timeout=timeout,
        )
        return manager.submit(func, args, kwargs, options, after_response=self._append)

    def _append(self, func: Callable[..., Any], *args: Any) -> None:
        BackgroundTasks.add_task(self, func, *args)


def share(background_tasks: BackgroundTasks, task_manager: TaskManager) -> ManagedBackgroundTasks:
    """A managed view of the request's ``background_tasks`` that shares its task list."""
    if isinstance(background_tasks, ManagedBackgroundTasks):
        if background_tasks._task_manager is None:
            background_tasks._task_manager = task_manager
        if background_tasks._task_manager is task_manager:
            return background_tasks
        # Installed for another manager: this dependency still belongs to ``task_manager``.
    managed = ManagedBackgroundTasks(task_manager)
    managed.tasks = background_tasks.tasks  # the same list FastAPI runs after the response
    return managed


def install_globally(task_manager: TaskManager) -> None:
    """Make FastAPI create ``ManagedBackgroundTasks`` for every ``BackgroundTasks`` parameter.

    FastAPI builds the request's background tasks in ``fastapi.dependencies.utils``; swapping
    the class it uses there is process-wide. The most recently installed manager is used.
    """
    import fastapi.dependencies.utils as dependency_utils

    if task_manager in _installed:
        _installed.remove(task_manager)
    _installed.append(task_manager)
    dependency_utils.BackgroundTasks = ManagedBackgroundTasks  # type: ignore[attr-defined,assignment]
