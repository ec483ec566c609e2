"""Where audit entries are kept: appended once, read newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.ports.cursor import Cursor


@attrs.frozen(kw_only=True)
class AuditQuery:
    """Which entries to list; ``None`` means no condition."""

    action: AuditAction | None = None
    actor: str | None = None
    #: Only entries that name this task.
    task_id: str | None = None

    def matches(self, entry: AuditEntry) -> bool:
        """Whether ``entry`` satisfies every condition (used by in-memory stores)."""
        if self.action is not None and entry.action is not self.action:
            return False
        if self.actor is not None and entry.actor != self.actor:
            return False
        return self.task_id is None or self.task_id in entry.task_ids


@attrs.frozen(kw_only=True)
class AuditPage:
    """Entries newest first, and the cursor of the next page (``None`` at the end)."""

    items: Sequence[AuditEntry]
    next_cursor: str | None = None


class AuditTrail(Protocol):
    """The audit log of a store, shared by every instance using it."""

    async def append_audit(self, entry: AuditEntry) -> None:
        """Store ``entry`` durably (in durable stores) before returning."""
        ...

    async def audit_entries(
        self, query: AuditQuery, *, limit: int, cursor: Cursor | None = None
    ) -> AuditPage:
        """Matching entries, newest first (by ``at``, then ``entry_id``), at most ``limit``
        of them, after ``cursor`` (whose time is an entry's ``at`` and whose id its
        ``entry_id``)."""
        ...
