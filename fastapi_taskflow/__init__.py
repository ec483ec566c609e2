"""fastapi-taskflow: retries, persistence, status tracking and a live dashboard for FastAPI
background tasks, embedded in the app itself: no broker, no separate workers.

This module is the public API; everything else is an implementation detail.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi_taskflow.adapters.observers import (
        FileLogger,
        InMemoryLogger,
        LoggerChain,
        StdoutLogger,
    )
    from fastapi_taskflow.adapters.observers.opentelemetry_observer import OpenTelemetryObserver
    from fastapi_taskflow.adapters.observers.prometheus_observer import PrometheusObserver
    from fastapi_taskflow.application.registry import TaskRegistry
    from fastapi_taskflow.application.task_log import get_task_context, task_log
    from fastapi_taskflow.application.task_store import TaskStore
    from fastapi_taskflow.domain.config import TaskConfig
    from fastapi_taskflow.domain.context import TaskContext
    from fastapi_taskflow.domain.errors import (
        FunctionNotRegistered,
        InvalidTransition,
        QueueFullError,
        StorageBacklogFull,
        TaskArgumentError,
        TaskflowError,
        TaskNotFound,
        TaskTimeout,
        UnreadableArguments,
    )
    from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
    from fastapi_taskflow.domain.executor_kind import ExecutorKind
    from fastapi_taskflow.domain.provenance import Provenance
    from fastapi_taskflow.domain.queue import QueueConfig
    from fastapi_taskflow.domain.retry import RetryPolicy
    from fastapi_taskflow.domain.schedule import MissedSlots, ScheduleEntry
    from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
    from fastapi_taskflow.domain.status import TaskStatus
    from fastapi_taskflow.domain.task import TaskRecord
    from fastapi_taskflow.domain.triggers import CronTrigger, IntervalTrigger
    from fastapi_taskflow.entrypoints.fastapi.admin import TaskAdmin
    from fastapi_taskflow.entrypoints.fastapi.auth_backend import TaskAuthBackend
    from fastapi_taskflow.entrypoints.fastapi.managed_tasks import ManagedBackgroundTasks
    from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
    from fastapi_taskflow.ports.observers import TaskObserver

__version__ = "1.0.0.dev0"

# Names load on first use, so a worker process importing one adapter module does not pay for
# FastAPI, SQLAlchemy and the rest.
_EXPORTS: dict[str, str] = {
    "CronTrigger": "fastapi_taskflow.domain.triggers",
    "ExecutorKind": "fastapi_taskflow.domain.executor_kind",
    "FileLogger": "fastapi_taskflow.adapters.observers",
    "FunctionNotRegistered": "fastapi_taskflow.domain.errors",
    "get_task_context": "fastapi_taskflow.application.task_log",
    "InMemoryLogger": "fastapi_taskflow.adapters.observers",
    "IntervalTrigger": "fastapi_taskflow.domain.triggers",
    "InvalidTransition": "fastapi_taskflow.domain.errors",
    "LifecycleEvent": "fastapi_taskflow.domain.events",
    "LogEvent": "fastapi_taskflow.domain.events",
    "LoggerChain": "fastapi_taskflow.adapters.observers",
    "ManagedBackgroundTasks": "fastapi_taskflow.entrypoints.fastapi.managed_tasks",
    "MissedSlots": "fastapi_taskflow.domain.schedule",
    # Needs the opentelemetry extra; importing it without raises an ImportError saying so.
    "OpenTelemetryObserver": "fastapi_taskflow.adapters.observers.opentelemetry_observer",
    # Needs the optional prometheus-client package, so it is only imported when asked for.
    "PrometheusObserver": "fastapi_taskflow.adapters.observers.prometheus_observer",
    "Provenance": "fastapi_taskflow.domain.provenance",
    "QueueConfig": "fastapi_taskflow.domain.queue",
    "QueueFullError": "fastapi_taskflow.domain.errors",
    "RetryPolicy": "fastapi_taskflow.domain.retry",
    "ScheduledOnce": "fastapi_taskflow.domain.scheduled_once",
    "ScheduleEntry": "fastapi_taskflow.domain.schedule",
    "StdoutLogger": "fastapi_taskflow.adapters.observers",
    "StorageBacklogFull": "fastapi_taskflow.domain.errors",
    "task_log": "fastapi_taskflow.application.task_log",
    "TaskAdmin": "fastapi_taskflow.entrypoints.fastapi.admin",
    "TaskArgumentError": "fastapi_taskflow.domain.errors",
    "TaskAuthBackend": "fastapi_taskflow.entrypoints.fastapi.auth_backend",
    "TaskConfig": "fastapi_taskflow.domain.config",
    "TaskContext": "fastapi_taskflow.domain.context",
    "TaskflowError": "fastapi_taskflow.domain.errors",
    "TaskManager": "fastapi_taskflow.entrypoints.fastapi.task_manager",
    "TaskNotFound": "fastapi_taskflow.domain.errors",
    "TaskTimeout": "fastapi_taskflow.domain.errors",
    "UnreadableArguments": "fastapi_taskflow.domain.errors",
    "TaskObserver": "fastapi_taskflow.ports.observers",
    "TaskRecord": "fastapi_taskflow.domain.task",
    "TaskRegistry": "fastapi_taskflow.application.registry",
    "TaskStatus": "fastapi_taskflow.domain.status",
    "TaskStore": "fastapi_taskflow.application.task_store",
}

__all__ = [
    "CronTrigger",
    "ExecutorKind",
    "FileLogger",
    "FunctionNotRegistered",
    "InMemoryLogger",
    "IntervalTrigger",
    "InvalidTransition",
    "LifecycleEvent",
    "LogEvent",
    "LoggerChain",
    "ManagedBackgroundTasks",
    "MissedSlots",
    "OpenTelemetryObserver",
    "PrometheusObserver",
    "Provenance",
    "QueueConfig",
    "QueueFullError",
    "RetryPolicy",
    "ScheduleEntry",
    "ScheduledOnce",
    "StdoutLogger",
    "StorageBacklogFull",
    "TaskAdmin",
    "TaskArgumentError",
    "TaskAuthBackend",
    "TaskConfig",
    "TaskContext",
    "TaskManager",
    "TaskNotFound",
    "TaskObserver",
    "TaskRecord",
    "TaskRegistry",
    "TaskStatus",
    "TaskStore",
    "TaskTimeout",
    "TaskflowError",
    "UnreadableArguments",
    "get_task_context",
    "task_log",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fastapi_taskflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
