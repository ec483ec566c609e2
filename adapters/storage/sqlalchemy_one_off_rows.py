"""Translation between one-off runs and rows of the ``taskflow_one_offs`` table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping

from fastapi_taskflow.adapters.storage.sqlalchemy_rows import argument_columns, stored_arguments
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.ports.serializer import Serializer

#: Columns an upsert replaces: all but the primary key.
ONE_OFF_UPDATABLE_COLUMNS = (
    "token",
    "func_name",
    "run_at",
    "args",
    "kwargs",
    "encrypted_payload",
    "tags",
    "priority",
    "idempotency_key",
    "created_at",
    "timeout",
    "queue",
)


def one_off_to_row(run: ScheduledOnce, serializer: Serializer) -> dict[str, Any]:
    """The ``taskflow_one_offs`` row of ``run``.

    Raises:
        TypeError: the arguments cannot be serialized.
    """
    return {
        "run_key": run.run_key,
        "token": run.token,
        "func_name": run.func_name,
        "run_at": run.run_at,
        **argument_columns(run.args, run.kwargs, run.encrypted_payload, serializer),
        "encrypted_payload": run.encrypted_payload,
        "tags": json.dumps(run.tags),
        "priority": run.priority,
        "idempotency_key": run.idempotency_key,
        "created_at": run.created_at,
        "timeout": run.timeout,
        "queue": run.queue,
    }


def row_to_one_off(row: RowMapping | Mapping[str, Any], serializer: Serializer) -> ScheduledOnce:
    """The one-off run stored in a ``taskflow_one_offs`` row."""
    args, kwargs = stored_arguments(row, serializer)
    payload = row["encrypted_payload"]
    return ScheduledOnce(
        run_key=row["run_key"],
        token=row["token"],
        func_name=row["func_name"],
        run_at=row["run_at"],
        args=args,
        kwargs=kwargs,
        encrypted_payload=None if payload is None else bytes(payload),
        tags=dict(json.loads(row["tags"])),
        priority=row["priority"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        timeout=row["timeout"],
        queue=row["queue"],
    )
