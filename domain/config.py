"""How a registered task behaves: its name, retry policy and dispatch options."""

from __future__ import annotations

import attrs

from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.limits import check_length
from fastapi_taskflow.domain.queue import DEFAULT_QUEUE, check_queue_name
from fastapi_taskflow.domain.retry import RetryPolicy
from fastapi_taskflow.domain.timeout import checked_timeout


def _optional_priority(
    _inst: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{attribute.name} must be an integer or None, got {value!r}")


def _optional_executor(value: str | ExecutorKind | None) -> ExecutorKind | None:
    return None if value is None else ExecutorKind.parse(value)


@attrs.frozen(kw_only=True)
class TaskConfig:
    """The options given to ``@task_manager.task()`` for one function."""

    #: Name shown in logs and the dashboard, and used to find the function after a restart.
    name: str = attrs.field()
    #: Additional attempts after the first failure.
    retries: int = 0
    #: Seconds before the first retry.
    delay: float = 0.0
    #: Multiplier applied to the delay on each further retry.
    backoff: float = 1.0
    #: Upper bound of any single retry wait, in seconds (``None``: no cap).
    max_delay: float | None = None
    #: Fraction (0 to 1) of each retry wait that may be randomly taken off.
    jitter: float = 0.0
    #: Kept for compatibility: every task is now persisted when storage is durable.
    persist: bool = False
    #: Run again, from the start, when the process stopped while the task was running.
    requeue_on_interrupt: bool = False
    #: Start the task as soon as ``add_task()`` is called instead of after the response.
    eager: bool = False
    #: Dispatch priority; higher runs first. ``None`` uses the request's background list.
    priority: int | None = attrs.field(default=None, validator=_optional_priority)
    #: Forced executor; ``None`` means chosen from the function (coroutine or not).
    executor: ExecutorKind | None = attrs.field(default=None, converter=_optional_executor)
    #: The named queue the task waits in for an execution slot.
    queue: str = attrs.field(default=DEFAULT_QUEUE, converter=check_queue_name)
    #: Seconds each attempt may run before it is stopped as timed out (``None``: no limit).
    timeout: float | None = attrs.field(default=None, converter=checked_timeout)
    #: The retry policy built from the fields above (validates them).
    retry_policy: RetryPolicy = attrs.field(init=False)

    @retry_policy.default
    def _build_retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            retries=self.retries,
            delay=self.delay,
            backoff=self.backoff,
            max_delay=self.max_delay,
            jitter=self.jitter,
        )

    @name.validator
    def _check_name(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"task name must be a non-empty string, got {value!r}")
        check_length("task name", value)
