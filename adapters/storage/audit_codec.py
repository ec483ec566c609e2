"""Audit entries as JSON documents, for stores that keep them as text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi_taskflow.domain.audit import AuditEntry


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    """The JSON-compatible shape of ``entry``."""
    return {
        "entry_id": entry.entry_id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action.value,
        "task_ids": list(entry.task_ids),
        "detail": dict(entry.detail),
    }


def audit_from_document(document: dict[str, Any]) -> AuditEntry:
    """The entry :func:`audit_document` gave ``document`` for."""
    return AuditEntry(
        entry_id=document["entry_id"],
        at=datetime.fromisoformat(document["at"]),
        actor=document["actor"],
        action=document["action"],
        task_ids=document["task_ids"],
        detail=document["detail"],
    )


def dumps(value: Any) -> str:
    """Compact JSON that keeps non-ASCII text readable in the database."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
