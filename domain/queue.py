"""Named queues: how many of their tasks run at once, how many may wait, and how fairly."""

from __future__ import annotations

import math

import attrs

from fastapi_taskflow.domain.limits import check_length

#: The queue of tasks that name none; it always exists.
DEFAULT_QUEUE = "default"

#: Bounds of the ``Retry-After`` suggested to clients refused by a full queue, in seconds.
RETRY_AFTER_FLOOR = 1
RETRY_AFTER_CEILING = 300

#: Duration assumed for a queue that has not finished a task yet, in seconds.
ASSUMED_DURATION = 1.0


def _optional_size(
    _inst: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{attribute.name} must be None or an integer >= 1, got {value!r}")


def _optional_key(
    _inst: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be None or a non-empty tag name, got {value!r}")
    check_length(attribute.name, value)


@attrs.frozen
class QueueConfig:
    """Limits of one named queue.

    Args:
        concurrency: Most tasks of this queue running at once in one process (``None``: no
            limit).
        max_size: Most tasks of this queue waiting to start in one process; ``add_task()``
            raises ``QueueFullError`` beyond it (``None``: no limit).
        fair_by: A tag name. Waiting tasks are grouped by their value of this tag (tasks
            without it form one group) and slots go round-robin between the groups, so one
            busy tenant cannot starve the others; priority orders tasks within a group.

    Raises:
        ValueError: A limit that is not ``None`` or an integer >= 1, or an empty tag name.
    """

    concurrency: int | None = attrs.field(default=None, validator=_optional_size)
    max_size: int | None = attrs.field(default=None, validator=_optional_size)
    fair_by: str | None = attrs.field(default=None, validator=_optional_key)

    def to_dict(self) -> dict[str, int | str | None]:
        """The settings as a JSON-ready mapping."""
        return {
            "concurrency": self.concurrency,
            "max_size": self.max_size,
            "fair_by": self.fair_by,
        }


def check_queue_name(name: object) -> str:
    """``name`` when it can name a queue; ``ValueError`` otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"queue must be a non-empty string, got {name!r}")
    check_length("queue", name)
    return name


def unknown_queue(name: str, known: list[str] | tuple[str, ...] | set[str]) -> ValueError:
    """The error for a queue name that was not configured."""
    return ValueError(
        f"unknown queue {name!r}; configured queues: {', '.join(sorted(known))} "
        f"(declare it with TaskManager(queues={{{name!r}: QueueConfig(...)}}))"
    )


def retry_after_seconds(
    *, waiting: int, concurrency: int | None, mean_duration: float | None
) -> int:
    """Seconds a refused client should wait before trying again.

    The estimate is the time the queue needs to start half of the tasks waiting in it:
    ``mean_duration * ceil(waiting / 2) / concurrency`` (a queue without a concurrency limit
    counts as 1, since it can only be full for an instant), rounded up and kept between
    :data:`RETRY_AFTER_FLOOR` and :data:`RETRY_AFTER_CEILING`. ``mean_duration`` is the
    queue's recent average task duration, :data:`ASSUMED_DURATION` before it has one.
    """
    duration = ASSUMED_DURATION if mean_duration is None else max(0.0, mean_duration)
    lanes = 1 if concurrency is None else concurrency
    estimate = duration * math.ceil(max(waiting, 1) / 2) / lanes
    if not math.isfinite(estimate):
        return RETRY_AFTER_CEILING
    return int(min(RETRY_AFTER_CEILING, max(RETRY_AFTER_FLOOR, math.ceil(estimate))))
