"""The order in which waiting tasks get an execution slot."""

from __future__ import annotations

#: Priority of a task enqueued without one.
DEFAULT_PRIORITY = 0


def dispatch_order(priority: int | None, sequence: int) -> tuple[int, int]:
    """Sort key: higher priority first, then first come, first served.

    ``sequence`` is a counter that increases with every enqueue, so equal priorities keep
    their arrival order.
    """
    effective = DEFAULT_PRIORITY if priority is None else priority
    return (-effective, sequence)
