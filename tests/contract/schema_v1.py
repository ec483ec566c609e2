"""The SQL task tables as schema version 1 created them, frozen for the upgrade tests.

Do not change this file when the schema moves on: it stands for databases already written by
earlier releases, which the current code must upgrade in place.
"""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table

from fastapi_taskflow.adapters.storage.sqlalchemy_types import (
    LongBytes,
    LongText,
    UtcDateTime,
    exact_string,
)

VERSION = 1

_ID = exact_string(128)
_NAME = exact_string(255)
_STATE = 16

metadata = MetaData()

tasks = Table(
    "taskflow_tasks",
    metadata,
    Column("task_id", _ID, primary_key=True),
    Column("func_name", _NAME, nullable=False),
    Column("status", String(_STATE), nullable=False),
    Column("args", LongBytes),
    Column("kwargs", LongBytes),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("start_time", UtcDateTime()),
    Column("end_time", UtcDateTime()),
    Column("duration", Double()),
    Column("retries_used", Integer, nullable=False),
    Column("error", LongText),
    Column("stacktrace", LongText),
    Column("logs", LongText, nullable=False),
    Column("tags", LongText, nullable=False),
    Column("idempotency_key", _NAME),
    Column("priority", Integer),
    Column("source", String(_STATE), nullable=False),
    Column("executor", String(_STATE)),
    Column("encrypted_payload", LongBytes),
    Column("instance_id", _ID),
    Index("ix_taskflow_tasks_created", "created_at", "task_id"),
    Index("ix_taskflow_tasks_status", "status"),
    Index("ix_taskflow_tasks_func_created", "func_name", "created_at"),
    Index("ix_taskflow_tasks_end_time", "end_time"),
)

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

schema_versions = Table(
    "taskflow_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime(), nullable=False),
)
