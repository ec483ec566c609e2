"""What ``--json`` prints: the admin API's response models, so the command line and the API
agree on every shape, plus the few documents only the command line needs (a page with its
cursor, and the stored one-off runs)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fastapi_taskflow.application.json_values import jsonable
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.cli.session import Arguments
from fastapi_taskflow.entrypoints.fastapi.schemas import (
    AuditEntryOut,
    ScheduleEntryOut,
    TaskOut,
)


def task_out(record: TaskRecord, shown: Arguments) -> TaskOut:
    """The API's task model, with the arguments the command may show (decrypted ones too)."""
    out = TaskOut.of(record, include_args=shown.hidden is None)
    if shown.hidden is None and record.encrypted_payload is not None:
        out = out.model_copy(
            update={
                "args": [jsonable(value) for value in shown.args or []],
                "kwargs": {key: jsonable(value) for key, value in (shown.kwargs or {}).items()},
            }
        )
    return out


class TaskPageOut(BaseModel):
    """A page of ``list``: the tasks, newest first, and the cursor of the next page."""

    items: list[TaskOut]
    next_cursor: str | None = Field(description="Pass to --cursor for the next page.")


class AuditPageOut(BaseModel):
    """A page of ``audit``: the entries, newest first, and the cursor of the next page."""

    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="Pass to --cursor for the next page.")


class OneOffRunOut(BaseModel):
    """A stored one-off run waiting for its time."""

    run_key: str
    func_name: str
    run_at: datetime
    created_at: datetime
    tags: dict[str, str]
    priority: int | None
    idempotency_key: str | None
    encrypted: bool = Field(description="Arguments are stored encrypted.")

    @classmethod
    def of(cls, run: ScheduledOnce) -> OneOffRunOut:
        return cls(
            run_key=run.run_key,
            func_name=run.func_name,
            run_at=run.run_at,
            created_at=run.created_at,
            tags=dict(run.tags),
            priority=run.priority,
            idempotency_key=run.idempotency_key,
            encrypted=run.encrypted_payload is not None,
        )


class SchedulesListingOut(BaseModel):
    """``schedules``: the periodic entries (``null`` without ``--app``: they live in the
    app's code) and the one-off runs stored."""

    entries: list[ScheduleEntryOut] | None
    one_off_armed: int = Field(description="One-off runs stored and waiting for their time.")
    one_offs: list[OneOffRunOut] = Field(description="The soonest of them, up to --limit.")
