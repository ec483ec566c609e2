"""Translation between task records and the Redis hash that holds each of them.

A task hash holds the record in a few fields: ``record`` (JSON with everything but the
arguments and the owner), ``args`` and ``kwargs`` (bytes from the injected serializer, absent
when the arguments are encrypted), ``payload`` (the encryption token) and ``owner`` (the
instance id, kept apart because claims change it alone). Next to those sit plain fields the
Lua scripts read: ``status``, ``func``, ``member``, ``indexes`` and ``duration``. The
``provenance`` in the record (the request that enqueued the task) also puts the task in one
``by:origin:*`` index per known field, so it can be filtered by them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from fastapi_taskflow.adapters.storage.redis_keys import RedisKeys
from fastapi_taskflow.adapters.storage.redis_ordering import member, microseconds
from fastapi_taskflow.adapters.storage.storage_rules import (
    UNFINISHED_STATUSES,
    at_rest,
    stored_source,
)
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.serializer import Serializer

#: The hash fields a stored record is read back from, in this order.
RECORD_FIELDS = ("record", "args", "kwargs", "payload", "owner")

#: How many script arguments :meth:`EncodedTask.script_args` gives per task.
SCRIPT_ARGS_PER_TASK = 13


@attrs.frozen(kw_only=True)
class EncodedTask:
    """A record ready to be written by the save script."""

    task_id: str
    record: bytes
    args: bytes | None
    kwargs: bytes | None
    payload: bytes | None
    owner: str | None
    status: str
    func_name: str
    member: str
    #: Every index the task belongs to.
    indexes: tuple[str, ...]
    #: Seconds from start to end, in whole microseconds, when both are known.
    duration: int | None
    #: End time in microseconds since the epoch, for finished tasks that have one.
    ended: int | None

    def script_args(self) -> list[bytes | str]:
        """The save script's arguments for this task (see ``SAVE`` in ``redis_scripts``)."""
        optional = (self.args, self.kwargs, self.payload, self.owner)
        present = "".join("0" if value is None else "1" for value in optional)
        return [
            self.task_id,
            self.record,
            *(b"" if value is None else value for value in optional),
            present,
            self.status,
            self.func_name,
            self.member,
            json.dumps(self.indexes, ensure_ascii=False),
            "" if self.duration is None else str(self.duration),
            "" if self.ended is None else str(self.ended),
        ]


def encode_task(record: TaskRecord, serializer: Serializer, keys: RedisKeys) -> EncodedTask:
    """What the store writes for ``record``.

    Raises:
        TypeError: the arguments cannot be serialized.
    """
    stored = at_rest(record)
    encrypted = stored.encrypted_payload is not None
    indexes = [
        keys.everything,
        keys.by_status(stored.status),
        keys.by_function(stored.func_name),
        keys.by_queue(stored.queue),
        keys.by_source(stored.source),
        *(keys.by_tag(key, value) for key, value in stored.tags.items()),
        *(keys.by_origin(field, value) for field, value in origin_filters(stored.provenance)),
    ]
    if stored.status in UNFINISHED_STATUSES:
        indexes.append(keys.unfinished)
    duration = None
    if stored.start_time is not None and stored.end_time is not None:
        duration = microseconds(stored.end_time) - microseconds(stored.start_time)
    ended = None
    if stored.status.is_terminal and stored.end_time is not None:
        ended = microseconds(stored.end_time)
    return EncodedTask(
        task_id=stored.task_id,
        record=json.dumps(_document(stored), separators=(",", ":")).encode(),
        # Encrypted arguments are stored only as the token, never in plain form.
        args=None if encrypted else serializer.dumps(stored.args),
        kwargs=None if encrypted else serializer.dumps(stored.kwargs),
        payload=stored.encrypted_payload,
        owner=stored.instance_id,
        status=stored.status.value,
        func_name=stored.func_name,
        member=member(stored.created_at, stored.task_id),
        indexes=tuple(indexes),
        duration=duration,
        ended=ended,
    )


def decode_task(fields: Sequence[bytes | None], serializer: Serializer) -> TaskRecord:
    """The record stored in the hash fields :data:`RECORD_FIELDS` (in that order)."""
    document, args, kwargs, payload, owner = fields
    if document is None:
        raise ValueError("a task hash without its record field")
    data = json.loads(document)
    executor = data["executor"]
    return TaskRecord(
        task_id=data["task_id"],
        func_name=data["func_name"],
        status=TaskStatus(data["status"]),
        args=() if args is None else tuple(serializer.loads(args)),
        kwargs={} if kwargs is None else dict(serializer.loads(kwargs)),
        created_at=datetime.fromisoformat(data["created_at"]),
        start_time=_optional_time(data["start_time"]),
        end_time=_optional_time(data["end_time"]),
        retries_used=data["retries_used"],
        error=data["error"],
        stacktrace=data["stacktrace"],
        logs=list(data["logs"]),
        tags=dict(data["tags"]),
        idempotency_key=data["idempotency_key"],
        priority=data["priority"],
        source=stored_source(data["source"]),
        executor=None if executor is None else ExecutorKind(executor),
        encrypted_payload=payload,
        instance_id=None if owner is None else owner.decode(),
        queue=data["queue"],
        crash_reruns=data["crash_reruns"],
        # Records written before retry links existed have neither.
        retried_from=data.get("retried_from"),
        retried_as=data.get("retried_as"),
        # Records written before provenance was stored have none.
        provenance=Provenance.from_dict(data.get("provenance")),
        # Records written before attempts had a time limit have none.
        timeout=data.get("timeout"),
    )


def _document(record: TaskRecord) -> dict[str, Any]:
    return {
        "task_id": record.task_id,
        "func_name": record.func_name,
        "status": record.status.value,
        "created_at": record.created_at.isoformat(),
        "start_time": None if record.start_time is None else record.start_time.isoformat(),
        "end_time": None if record.end_time is None else record.end_time.isoformat(),
        "retries_used": record.retries_used,
        "error": record.error,
        "stacktrace": record.stacktrace,
        "logs": record.logs,
        "tags": record.tags,
        "idempotency_key": record.idempotency_key,
        "priority": record.priority,
        "source": record.source,
        "executor": None if record.executor is None else record.executor.value,
        "queue": record.queue,
        "crash_reruns": record.crash_reruns,
        "retried_from": record.retried_from,
        "retried_as": record.retried_as,
        "provenance": None if record.provenance is None else record.provenance.to_dict(),
        "timeout": record.timeout,
    }


#: The provenance fields tasks can be filtered by, each with an index of its own.
ORIGIN_FIELDS = ("route", "method", "request_id", "principal")


def origin_filters(provenance: Provenance | None) -> list[tuple[str, str]]:
    """The (field, value) pairs of ``provenance`` that have an index: the known ones."""
    if provenance is None:
        return []
    known = ((field, getattr(provenance, field)) for field in ORIGIN_FIELDS)
    return [(field, value) for field, value in known if value is not None]


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
