"""Audit entries as rows of ``taskflow_audit``, and the conditions that select them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, and_, or_

from fastapi_taskflow.adapters.storage.audit_codec import dumps
from fastapi_taskflow.adapters.storage.sqlalchemy_schema import audit_log
from fastapi_taskflow.domain.audit import AuditEntry
from fastapi_taskflow.ports.audit import AuditQuery
from fastapi_taskflow.ports.cursor import Cursor


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """The ``taskflow_audit`` row of ``entry``."""
    return {
        "entry_id": entry.entry_id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action.value,
        "task_ids": dumps(list(entry.task_ids)),
        "detail": dumps(dict(entry.detail)),
    }


def row_to_audit(row: RowMapping | Mapping[str, Any]) -> AuditEntry:
    """The entry stored in ``row``."""
    return AuditEntry(
        entry_id=row["entry_id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        task_ids=json.loads(row["task_ids"]),
        detail=json.loads(row["detail"]),
    )


def audit_conditions(query: AuditQuery, cursor: Cursor | None) -> list[ColumnElement[bool]]:
    """The WHERE conditions equivalent to :meth:`AuditQuery.matches`, after ``cursor``."""
    columns = audit_log.c
    conditions: list[ColumnElement[bool]] = []
    if query.action is not None:
        conditions.append(columns.action == query.action.value)
    if query.actor is not None:
        conditions.append(columns.actor == query.actor)
    if query.task_id is not None:
        # task_ids is a JSON list of strings, so the id appears quoted exactly as dumps()
        # writes it; LIKE wildcards in the id are escaped.
        needle = dumps(query.task_id)
        for special in ("\\", "%", "_"):
            needle = needle.replace(special, "\\" + special)
        conditions.append(columns.task_ids.like(f"%{needle}%", escape="\\"))
    if cursor is not None:
        conditions.append(
            or_(
                columns.at < cursor.created_at,
                and_(columns.at == cursor.created_at, columns.entry_id < cursor.task_id),
            )
        )
    return conditions
