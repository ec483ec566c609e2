"""Errors raised by the domain and reported to users."""

from __future__ import annotations

from fastapi_taskflow.domain.status import TaskStatus


class TaskflowError(Exception):
    """Base class of every error fastapi-taskflow raises on purpose."""


class InvalidTransition(TaskflowError):
    """A task was asked to move to a status its current status does not allow."""

    def __init__(self, task_id: str, current: TaskStatus, target: TaskStatus) -> None:
        super().__init__(f"task {task_id} cannot move from {current.value!r} to {target.value!r}")
        self.task_id = task_id
        self.current = current
        self.target = target


class TaskArgumentError(TaskflowError, TypeError):
    """The arguments given to ``add_task()`` cannot be carried to the executor.

    Raised at enqueue time, for example when a ``process`` task receives an argument that cannot
    be pickled, so the failure surfaces in the request instead of inside a worker.
    """


class UnreadableArguments(TaskflowError, ValueError):
    """A task's encrypted arguments cannot be decrypted with any configured key.

    The message names the problem, never a key: usually the key that encrypted the task was
    removed from ``encrypt_args_key`` before the task ran, or the stored token was damaged.
    """

    def __init__(self) -> None:
        super().__init__(
            "the task's encrypted arguments cannot be decrypted with any key in "
            "encrypt_args_key (was the key that encrypted them removed, or the stored "
            "payload damaged?)"
        )


class TaskNotFound(TaskflowError, LookupError):
    """No task with the given id exists."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


class FunctionNotRegistered(TaskflowError, LookupError):
    """A stored task names a function this process has not registered."""

    def __init__(self, func_name: str) -> None:
        super().__init__(
            f"function {func_name!r} is not registered in this process; decorate it with "
            "@task_manager.task() so it can be run from storage"
        )
        self.func_name = func_name


class TaskTimeout(TaskflowError, TimeoutError):
    """An attempt of a task ran past its ``timeout`` and was stopped (or, for a thread task,
    abandoned).

    It counts as a failure of that attempt: the task is retried if it has retries left.
    """

    def __init__(self, func_name: str, timeout: float, attempt: int) -> None:
        super().__init__(f"{func_name} timed out after {timeout:g}s on attempt {attempt}")
        self.func_name = func_name
        #: The limit that was exceeded, in seconds.
        self.timeout = timeout
        #: The attempt that timed out, starting at 1.
        self.attempt = attempt


class StorageBacklogFull(TaskflowError, RuntimeError):
    """New tasks are refused because too many changes are waiting to reach storage.

    Raised by ``add_task()`` while storage is unreachable (or slower than the work arriving)
    and the write-behind buffer holds its limit. Tasks already accepted are unaffected: their
    changes stay buffered and are written when storage catches up.
    """

    def __init__(self, backlog: int, limit: int) -> None:
        super().__init__(
            f"not accepting new tasks: {backlog} task changes are waiting to be written to "
            f"storage (limit {limit}); is the database reachable?"
        )
        self.backlog = backlog
        self.limit = limit


class NotRetryable(TaskflowError):
    """An operator asked to retry a task whose status does not allow it (it is still pending
    or running, or it succeeded)."""

    def __init__(self, task_id: str, status: TaskStatus) -> None:
        super().__init__(
            f"task {task_id} has status {status.value!r}; only failed, interrupted, rejected "
            "and cancelled tasks can be retried"
        )
        self.task_id = task_id
        self.status = status


class AlreadyRetried(TaskflowError):
    """The task was retried before; retry the newer task instead, so each failure is re-run
    once however often the request is sent."""

    def __init__(self, task_id: str, retried_as: str) -> None:
        super().__init__(
            f"task {task_id} was already retried as {retried_as}; retry that task instead"
        )
        self.task_id = task_id
        self.retried_as = retried_as


class InvalidReplay(TaskflowError, ValueError):
    """The edits of a replay cannot be applied (for example, arguments that are hidden or
    encrypted cannot be edited)."""


class TaskOwnedElsewhere(TaskflowError):
    """The task is pending or running in another instance, which alone can act on it."""

    def __init__(self, task_id: str, owner: str | None = None) -> None:
        holder = "another instance" if owner is None else f"instance {owner}"
        super().__init__(f"task {task_id} is owned by {holder}")
        self.task_id = task_id
        #: The instance holding the task, when known.
        self.owner = owner


class QueueFullError(TaskflowError, RuntimeError):
    """``add_task()`` refused a task because its queue already holds ``max_size`` waiting tasks.

    The refused task is kept with status ``rejected`` (see ``task_id``) and can be replayed
    later. ``retry_after`` suggests, in seconds, when to try again; the handler installed by
    ``init_app`` and ``TaskAdmin`` answers 429 with it as the ``Retry-After`` header.
    """

    def __init__(
        self, queue: str, max_size: int, waiting: int, retry_after: int, task_id: str
    ) -> None:
        super().__init__(
            f"queue {queue!r} is full: {waiting} tasks waiting (max_size {max_size}); "
            f"try again in {retry_after} s"
        )
        self.queue = queue
        self.max_size = max_size
        self.waiting = waiting
        self.retry_after = retry_after
        self.task_id = task_id
