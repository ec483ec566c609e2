"""fastapi-taskflow: retries, persistence, status tracking and a live dashboard for FastAPI
background tasks, embedded in the app itself: no broker, no separate workers.

This module is the public API; everything else is an implementation detail.
"""

from __future__ import annotations

from fastapi_taskflow.adapters.observers import (
    FileLogger,
    InMemoryLogger,
    LoggerChain,
    StdoutLogger,
)
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.application.task_log import get_task_context, task_log
from fastapi_taskflow.application.task_store import TaskStore
from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.context import TaskContext
from fastapi_taskflow.domain.errors import (
    FunctionNotRegistered,
    InvalidTransition,
    TaskArgumentError,
    TaskflowError,
    TaskNotFound,
)
from fastapi_taskflow.domain.events import LifecycleEvent, LogEvent
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.retry import RetryPolicy
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.fastapi.admin import TaskAdmin
from fastapi_taskflow.entrypoints.fastapi.managed_tasks import ManagedBackgroundTasks
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.ports.observers import TaskObserver

__version__ = "1.0.0.dev0"

__all__ = [
    "ExecutorKind",
    "FileLogger",
    "FunctionNotRegistered",
    "InMemoryLogger",
    "InvalidTransition",
    "LifecycleEvent",
    "LogEvent",
    "LoggerChain",
    "ManagedBackgroundTasks",
    "RetryPolicy",
    "StdoutLogger",
    "TaskAdmin",
    "TaskArgumentError",
    "TaskConfig",
    "TaskContext",
    "TaskManager",
    "TaskNotFound",
    "TaskObserver",
    "TaskRecord",
    "TaskRegistry",
    "TaskStatus",
    "TaskStore",
    "TaskflowError",
    "get_task_context",
    "task_log",
]
