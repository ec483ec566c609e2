"""A position in a newest-first listing ordered by (time, id): tasks and audit entries."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import attrs

from fastapi_taskflow.domain.task import TaskRecord


@attrs.frozen
class Cursor:
    """Position after the last item of a page, in (time, id) descending order.

    For tasks the time is ``created_at`` and the id ``task_id``; audit entries use their
    ``at`` and ``entry_id``.
    """

    created_at: datetime
    task_id: str

    def encode(self) -> str:
        """An opaque token for API clients."""
        raw = f"{self.created_at.isoformat()}|{self.task_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a token made by :meth:`encode`; ``ValueError`` for anything else."""
        try:
            padded = token + "=" * (-len(token) % 4)
            stamp, task_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
            created_at = datetime.fromisoformat(stamp)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ValueError(f"invalid cursor {token!r}") from None
        if created_at.tzinfo is None:
            raise ValueError(f"invalid cursor {token!r}")
        return cls(created_at, task_id)

    @classmethod
    def after(cls, record: TaskRecord) -> Cursor:
        """The cursor that continues after ``record``."""
        return cls(record.created_at, record.task_id)

    def precedes(self, record: TaskRecord) -> bool:
        """Whether ``record`` comes after this cursor in newest-first order."""
        return self.precedes_position(record.created_at, record.task_id)

    def precedes_position(self, moment: datetime, key: str) -> bool:
        """Whether the item at ``(moment, key)`` comes after this cursor, newest first."""
        return (moment, key) < (self.created_at, self.task_id)
