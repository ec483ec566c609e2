"""Where live changes to queue limits are kept, so restarts and other instances see them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from fastapi_taskflow.domain.queue import QueueConfig


class QueueSettings(Protocol):
    """Queue limits changed at run time, by queue name; the latest write wins."""

    async def save_queue_config(self, name: str, config: QueueConfig) -> None:
        """Store ``config`` as the limits of queue ``name``, replacing earlier ones."""
        ...

    async def queue_configs(self) -> Mapping[str, QueueConfig]:
        """Every stored queue's limits, by name."""
        ...
