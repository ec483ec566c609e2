"""Reading stored queue limits back, whatever a store holds."""

from __future__ import annotations

import logging
from typing import Any

from fastapi_taskflow.domain.queue import QueueConfig

_log = logging.getLogger("fastapi_taskflow.storage")


def stored_queue_config(name: str, fields: dict[str, Any]) -> QueueConfig | None:
    """The limits stored for queue ``name``; ``None`` (logged) when they are not valid, so one
    bad row, written by hand or by a newer release, cannot stop the others from applying."""
    try:
        return QueueConfig(
            concurrency=fields.get("concurrency"),
            max_size=fields.get("max_size"),
            fair_by=fields.get("fair_by"),
        )
    except (TypeError, ValueError) as exc:
        _log.warning("ignoring the stored limits of queue %r: %s", name, exc)
        return None
