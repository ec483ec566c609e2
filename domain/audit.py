"""The audit log: who did what to which tasks, through the admin API, dashboard or CLI."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from fastapi_taskflow.domain.clock_rules import require_aware


class AuditAction(str, enum.Enum):
    """What an operator did. The values are stored and returned by the API."""

    #: A finished task was run again as a new task (``detail`` holds the new id).
    RETRY = "retry"
    #: A finished task was run again with edited keyword arguments or tags (``detail`` holds
    #: the diff).
    REPLAY = "replay"
    #: Several tasks were retried in one request (``detail`` holds the outcome).
    BULK_RETRY = "bulk_retry"
    #: A pending or running task was cancelled.
    CANCEL = "cancel"
    #: Finished tasks older than a cutoff were deleted.
    DELETE_HISTORY = "delete_history"
    #: Retention deleted finished tasks older than ``retention_days`` (``actor`` is ``None``;
    #: ``detail`` holds the cutoff, ``retention_days`` and how many were deleted).
    RETENTION = "retention"
    #: A user signed in to the dashboard.
    LOGIN = "login"
    #: A sign-in was refused (``actor`` is the user name that was tried).
    LOGIN_FAILED = "login_failed"
    #: A user signed out.
    LOGOUT = "logout"
    #: A queue's limits were changed live (``detail`` holds the queue, before and after).
    UPDATE_QUEUE = "update_queue"


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One operator action.

    ``actor`` is the authenticated user, ``None`` when the admin runs without authentication;
    ``detail`` is JSON-compatible and never holds task arguments that are not shown anyway.
    """

    entry_id: str
    at: datetime = attrs.field(validator=require_aware)
    actor: str | None
    action: AuditAction = attrs.field(converter=AuditAction)
    task_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    detail: Mapping[str, Any] = attrs.field(factory=dict)
