"""Recording and reading what operators did."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.ports.audit import AuditPage, AuditQuery, AuditTrail
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.cursor import Cursor

#: Largest page of entries a caller may ask for.
MAX_AUDIT_PAGE = 500


class AuditLog:
    """Appends entries to the store's audit trail, stamped with the clock."""

    def __init__(self, *, trail: AuditTrail, clock: Clock) -> None:
        self._trail = trail
        self._clock = clock

    async def record(
        self,
        actor: str | None,
        action: AuditAction,
        task_ids: Sequence[str] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Store one entry (durably, in durable stores) and return it."""
        entry = AuditEntry(
            entry_id=uuid.uuid4().hex,
            at=self._clock.now(),
            actor=actor,
            action=action,
            task_ids=tuple(task_ids),
            detail=dict(detail or {}),
        )
        await self._trail.append_audit(entry)
        return entry

    async def page(
        self, query: AuditQuery, *, limit: int = 100, cursor: str | None = None
    ) -> AuditPage:
        """Matching entries, newest first. ``ValueError`` for a bad limit or cursor."""
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_AUDIT_PAGE}, got {limit}")
        position = Cursor.decode(cursor) if cursor else None
        return await self._trail.audit_entries(query, limit=limit, cursor=position)
