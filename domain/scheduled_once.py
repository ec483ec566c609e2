"""One-off runs: a task to start once, at a given time, identified by a key of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware


@attrs.frozen(kw_only=True)
class ScheduledOnce:
    """A stored call of a registered task, armed to start once at :attr:`run_at`.

    Scheduling again with the same :attr:`run_key` replaces it (that is how a deadline is
    moved); every version gets a fresh :attr:`token`, so an instance still holding an older
    version cannot fire it.
    """

    run_key: str
    func_name: str
    run_at: datetime = attrs.field(validator=require_aware)
    #: Identifies this version of the run (a new one for every replacement).
    token: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    #: The arguments, sealed, when argument encryption is on (``args``/``kwargs`` are empty).
    encrypted_payload: bytes | None = None
    tags: dict[str, str] = attrs.field(factory=dict)
    priority: int | None = None
    idempotency_key: str | None = None
    created_at: datetime = attrs.field(validator=require_aware)
    #: Seconds each attempt of the run may take (``None``: no limit).
    timeout: float | None = None
    #: The named queue the run waits in (``None``: its task's queue when it starts).
    queue: str | None = None

    @property
    def fire_at(self) -> datetime:
        """Alias of :attr:`run_at`, the name fastapi-taskflow 0.12 gave it."""
        return self.run_at
