"""The tables of the SQL task store, and the version of their shape."""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table

from fastapi_taskflow.adapters.storage.sqlalchemy_types import (
    LongBytes,
    LongText,
    UtcDateTime,
    exact_string,
)

#: The shape the code below describes. Raise it together with a step in ``MIGRATIONS`` when
#: existing tables change; a new table alone does not raise it, because opening a database
#: creates missing tables and older releases ignore tables they do not know.
SCHEMA_VERSION = 5

# Lengths keep every index within MySQL's size limit under utf8mb4.
_ID = exact_string(128)
_NAME = exact_string(255)
_STATE = 16

#: The queue of tasks that name none (and of every task stored before queues existed).
DEFAULT_QUEUE = "default"

metadata = MetaData()

tasks = Table(
    "taskflow_tasks",
    metadata,
    Column("task_id", _ID, primary_key=True),
    Column("func_name", _NAME, nullable=False),
    Column("status", String(_STATE), nullable=False),
    # Serializer output; NULL when the arguments are only kept encrypted.
    Column("args", LongBytes),
    Column("kwargs", LongBytes),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("start_time", UtcDateTime()),
    Column("end_time", UtcDateTime()),
    # Seconds from start to end, stored so averages and percentiles can be computed in SQL.
    Column("duration", Double()),
    Column("retries_used", Integer, nullable=False),
    Column("error", LongText),
    Column("stacktrace", LongText),
    # JSON: a list of lines and a string-to-string object.
    Column("logs", LongText, nullable=False),
    Column("tags", LongText, nullable=False),
    Column("idempotency_key", _NAME),
    Column("priority", Integer),
    Column("source", String(_STATE), nullable=False),
    Column("executor", String(_STATE)),
    Column("encrypted_payload", LongBytes),
    Column("instance_id", _ID),
    # Server defaults, so rows written before version 2 read as the default queue, never rerun.
    Column("queue", _NAME, nullable=False, server_default=DEFAULT_QUEUE),
    Column("crash_reruns", Integer, nullable=False, server_default="0"),
    # Version 3: the links between a task and its retry, both ways.
    Column("retried_from", _ID),
    Column("retried_as", _ID),
    # Version 4: the request that enqueued the task (all NULL when it came from elsewhere).
    Column("route", _NAME),
    Column("method", _NAME),
    Column("request_id", _NAME),
    Column("principal", _NAME),
    Column("trace_parent", _NAME),
    # Version 5: seconds each attempt may run (NULL: no limit).
    Column("timeout", Double()),
    Index("ix_taskflow_tasks_created", "created_at", "task_id"),
    Index("ix_taskflow_tasks_status", "status"),
    Index("ix_taskflow_tasks_func_created", "func_name", "created_at"),
    Index("ix_taskflow_tasks_end_time", "end_time"),
    Index("ix_taskflow_tasks_queue_created", "queue", "created_at"),
    Index("ix_taskflow_tasks_route_created", "route", "created_at"),
    Index("ix_taskflow_tasks_method_created", "method", "created_at"),
    Index("ix_taskflow_tasks_request", "request_id"),
    Index("ix_taskflow_tasks_principal_created", "principal", "created_at"),
)

#: One row per tag of a task, so the tag filter can use an index on every database.
task_tags = Table(
    "taskflow_task_tags",
    metadata,
    Column("task_id", _ID, primary_key=True),
    Column("tag_key", _NAME, primary_key=True),
    Column("tag_value", _NAME, nullable=False),
    Index("ix_taskflow_task_tags_key_value", "tag_key", "tag_value"),
)

idempotency_keys = Table(
    "taskflow_idempotency_keys",
    metadata,
    Column("idempotency_key", _NAME, primary_key=True),
    Column("task_id", _ID, nullable=False),
    Index("ix_taskflow_idempotency_keys_task", "task_id"),
)

instances = Table(
    "taskflow_instances",
    metadata,
    Column("instance_id", _ID, primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
)

#: Named locks shared by every client of the store; a row whose ``expires_at`` has passed is
#: free for the next taker.
locks = Table(
    "taskflow_locks",
    metadata,
    Column("name", _NAME, primary_key=True),
    Column("owner", _NAME, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

#: The slots periodic entries fired, one row per slot, and the task each started. A row per
#: slot (rather than one per entry) means a claim never waits on another slot's: an
#: instance frozen in the middle of claiming one slot cannot hold up the next.
schedule_slots = Table(
    "taskflow_schedule_slots",
    metadata,
    Column("entry", _NAME, primary_key=True),
    Column("slot", UtcDateTime(), primary_key=True),
    Column("task_id", _ID, nullable=False),
)

#: One-off runs waiting for their time; a row is deleted when its run fires.
one_offs = Table(
    "taskflow_one_offs",
    metadata,
    Column("run_key", _NAME, primary_key=True),
    Column("token", _ID, nullable=False),
    Column("func_name", _NAME, nullable=False),
    Column("run_at", UtcDateTime(), nullable=False),
    # Serializer output, as in taskflow_tasks; NULL when only the encrypted payload is kept.
    Column("args", LongBytes),
    Column("kwargs", LongBytes),
    Column("encrypted_payload", LongBytes),
    # JSON: a string-to-string object.
    Column("tags", LongText, nullable=False),
    Column("priority", Integer),
    Column("idempotency_key", _NAME),
    Column("created_at", UtcDateTime(), nullable=False),
    # Version 5: seconds each attempt of the run may take (NULL: no limit).
    Column("timeout", Double()),
    # Version 5: the named queue the run waits in (NULL: its task's queue).
    Column("queue", _NAME),
    Index("ix_taskflow_one_offs_run_at", "run_at", "run_key"),
)

#: Operator actions, newest last; ``entry_id`` breaks ties between entries of one instant.
audit_log = Table(
    "taskflow_audit",
    metadata,
    Column("entry_id", _ID, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", _NAME),
    Column("action", String(32), nullable=False),
    # JSON: a list of task ids and an object.
    Column("task_ids", LongText, nullable=False),
    Column("detail", LongText, nullable=False),
    Index("ix_taskflow_audit_at", "at", "entry_id"),
)

#: Queue limits changed at run time, one row per queue (a new table: no schema version step).
queue_configs = Table(
    "taskflow_queue_configs",
    metadata,
    Column("name", _NAME, primary_key=True),
    Column("concurrency", Integer),
    Column("max_size", Integer),
    Column("fair_by", _NAME),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: One row per schema version applied to this database.
schema_versions = Table(
    "taskflow_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime(), nullable=False),
)
