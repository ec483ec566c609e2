"""The public API: every documented name imports from ``fastapi_taskflow``."""

from __future__ import annotations

import subprocess
import sys

import fastapi_taskflow

SEED_NAMES = [
    "TaskManager",
    "TaskAdmin",
    "TaskAuthBackend",
    "ManagedBackgroundTasks",
    "task_log",
    "get_task_context",
    "TaskObserver",
    "FileLogger",
    "StdoutLogger",
    "InMemoryLogger",
    "LoggerChain",
    "TaskStatus",
    "TaskRecord",
    "TaskConfig",
    "TaskContext",
    "TaskArgumentError",
    "LogEvent",
    "LifecycleEvent",
]


def test_every_seed_name_is_exported() -> None:
    for name in SEED_NAMES:
        assert getattr(fastapi_taskflow, name) is not None
        assert name in fastapi_taskflow.__all__


def test_every_exported_name_resolves() -> None:
    for name in fastapi_taskflow.__all__:
        assert getattr(fastapi_taskflow, name).__name__ == name


def test_backends_module_keeps_the_original_names() -> None:
    from fastapi_taskflow.backends import (
        MySQLBackend,
        PostgresBackend,
        RedisBackend,
        SnapshotBackend,
        SqliteBackend,
    )

    assert SqliteBackend("tasks.db").storage_url == "sqlite:///tasks.db"
    assert RedisBackend("redis://cache:6379/1", prefix="app").prefix == "app"
    for backend in (PostgresBackend("postgresql://db/x"), MySQLBackend("mysql://db/x")):
        assert isinstance(backend, SnapshotBackend)


def test_worker_processes_do_not_import_the_web_stack() -> None:
    # Process-task workers import only the executor's worker module.
    code = (
        "import sys, fastapi_taskflow.adapters.executors.process_worker; "
        "print('fastapi' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "False"]


def test_the_testing_kit_is_public_and_importing_the_package_stays_cheap() -> None:
    from fastapi_taskflow.testing import FakeClock, TaskflowKit, TasksDidNotSettle, taskflow_test

    assert issubclass(TasksDidNotSettle, AssertionError)
    assert callable(taskflow_test) and TaskflowKit and FakeClock
    code = (
        "import sys, fastapi_taskflow; "
        "print('pytest' in sys.modules, 'fastapi_taskflow.testing' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "False"]


def test_the_prometheus_extra_is_needed_only_by_the_prometheus_observer() -> None:
    # A manager with observers of every built-in kind works without prometheus-client; asking
    # for PrometheusObserver then names the extra to install.
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from fastapi_taskflow import InMemoryLogger, TaskManager\n"
        "TaskManager(loggers=[InMemoryLogger()])\n"
        "try:\n"
        "    from fastapi_taskflow import PrometheusObserver\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == (
        'PrometheusObserver needs the prometheus-client package: pip install "fastapi-taskflow'
        '[prometheus]"'
    )
