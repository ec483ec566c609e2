"""Translation between task records and rows of the SQL task tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping

from fastapi_taskflow.adapters.storage.storage_rules import stored_source
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.serializer import Serializer

#: Columns holding the request that enqueued a task, named like the fields of
#: :class:`~fastapi_taskflow.domain.provenance.Provenance`.
PROVENANCE_COLUMNS = ("route", "method", "request_id", "principal", "trace_parent")

#: Columns an upsert replaces: all but the primary key.
UPDATABLE_COLUMNS = (
    "func_name",
    "status",
    "args",
    "kwargs",
    "created_at",
    "start_time",
    "end_time",
    "duration",
    "retries_used",
    "error",
    "stacktrace",
    "logs",
    "tags",
    "idempotency_key",
    "priority",
    "source",
    "executor",
    "encrypted_payload",
    "instance_id",
    "queue",
    "crash_reruns",
    "retried_from",
    "retried_as",
    *PROVENANCE_COLUMNS,
    "timeout",
)


def record_to_row(record: TaskRecord, serializer: Serializer) -> dict[str, Any]:
    """The ``taskflow_tasks`` row of ``record``.

    Raises:
        TypeError: the arguments cannot be serialized.
    """
    return {
        "task_id": record.task_id,
        "func_name": record.func_name,
        "status": record.status.value,
        **argument_columns(record.args, record.kwargs, record.encrypted_payload, serializer),
        "created_at": record.created_at,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "duration": record.duration,
        "retries_used": record.retries_used,
        "error": record.error,
        "stacktrace": record.stacktrace,
        "logs": json.dumps(record.logs),
        "tags": json.dumps(record.tags),
        "idempotency_key": record.idempotency_key,
        "priority": record.priority,
        "source": record.source,
        "executor": record.executor.value if record.executor is not None else None,
        "encrypted_payload": record.encrypted_payload,
        "instance_id": record.instance_id,
        "queue": record.queue,
        "crash_reruns": record.crash_reruns,
        "retried_from": record.retried_from,
        "retried_as": record.retried_as,
        **provenance_columns(record.provenance),
        "timeout": record.timeout,
    }


def provenance_columns(provenance: Provenance | None) -> dict[str, str | None]:
    """The provenance columns of a task (all NULL when the task has no provenance)."""
    if provenance is None:
        return dict.fromkeys(PROVENANCE_COLUMNS)
    return {name: getattr(provenance, name) for name in PROVENANCE_COLUMNS}


def stored_provenance(row: RowMapping | Mapping[str, Any]) -> Provenance | None:
    """The provenance kept in a row; ``None`` when every column is NULL."""
    found = Provenance(**{name: row[name] for name in PROVENANCE_COLUMNS})
    return None if found.empty else found


def argument_columns(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    encrypted_payload: bytes | None,
    serializer: Serializer,
) -> dict[str, Any]:
    """The ``args`` and ``kwargs`` columns: serialized, or NULL when only the encrypted token
    is kept (encrypted arguments are never stored in plain form).

    Raises:
        TypeError: the arguments cannot be serialized.
    """
    if encrypted_payload is not None:
        return {"args": None, "kwargs": None}
    return {"args": serializer.dumps(args), "kwargs": serializer.dumps(kwargs)}


def stored_arguments(
    row: RowMapping | Mapping[str, Any], serializer: Serializer
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments kept in a row's ``args`` and ``kwargs`` columns (empty when NULL)."""
    args, kwargs = row["args"], row["kwargs"]
    return (
        () if args is None else tuple(serializer.loads(bytes(args))),
        {} if kwargs is None else dict(serializer.loads(bytes(kwargs))),
    )


def tag_rows(record: TaskRecord) -> list[dict[str, str]]:
    """The ``taskflow_task_tags`` rows of ``record``."""
    return [
        {"task_id": record.task_id, "tag_key": key, "tag_value": value}
        for key, value in record.tags.items()
    ]


def row_to_record(row: RowMapping | Mapping[str, Any], serializer: Serializer) -> TaskRecord:
    """The task record stored in a ``taskflow_tasks`` row."""
    args, kwargs = stored_arguments(row, serializer)
    executor = row["executor"]
    return TaskRecord(
        task_id=row["task_id"],
        func_name=row["func_name"],
        status=TaskStatus(row["status"]),
        args=args,
        kwargs=kwargs,
        created_at=row["created_at"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        retries_used=row["retries_used"],
        error=row["error"],
        stacktrace=row["stacktrace"],
        logs=list(json.loads(row["logs"])),
        tags=dict(json.loads(row["tags"])),
        idempotency_key=row["idempotency_key"],
        priority=row["priority"],
        source=stored_source(row["source"]),
        executor=None if executor is None else ExecutorKind(executor),
        encrypted_payload=None
        if row["encrypted_payload"] is None
        else bytes(row["encrypted_payload"]),
        instance_id=row["instance_id"],
        queue=row["queue"],
        crash_reruns=row["crash_reruns"],
        retried_from=row["retried_from"],
        retried_as=row["retried_as"],
        provenance=stored_provenance(row),
        timeout=row["timeout"],
    )
