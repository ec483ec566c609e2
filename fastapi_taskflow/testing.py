"""Test code that enqueues, retries and schedules tasks without sleeping or a database.

``taskflow_test(task_manager)`` runs the manager on in-memory adapters and a fake clock for
the duration of a ``with`` block; the kit it yields runs tasks, moves time and asserts on
what was enqueued. The pytest fixture lives in ``fastapi_taskflow.pytest_plugin``.
"""

from __future__ import annotations

from fastapi_taskflow.adapters.clock.fake_clock import FakeClock
from fastapi_taskflow.entrypoints.testing.settle_errors import TasksDidNotSettle
from fastapi_taskflow.entrypoints.testing.taskflow_kit import TaskflowKit, taskflow_test

__all__ = ["FakeClock", "TaskflowKit", "TasksDidNotSettle", "taskflow_test"]
