"""pytest fixtures for testing code that uses a ``TaskManager``.

Opt in from a ``conftest.py``::

    pytest_plugins = ["fastapi_taskflow.pytest_plugin"]

    @pytest.fixture
    def taskflow_manager():
        return task_manager  # the application's TaskManager

Tests then ask for ``taskflow`` and get a :class:`~fastapi_taskflow.testing.TaskflowKit`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.entrypoints.testing.taskflow_kit import TaskflowKit, taskflow_test


@pytest.fixture
def taskflow_manager() -> TaskManager:
    """The ``TaskManager`` the ``taskflow`` fixture drives; override it in ``conftest.py``."""
    raise pytest.UsageError(
        "the taskflow fixture needs your TaskManager: define a fixture named "
        "taskflow_manager in conftest.py that returns it"
    )


@pytest.fixture
def taskflow(taskflow_manager: TaskManager) -> Iterator[TaskflowKit]:
    """A :class:`TaskflowKit` driving ``taskflow_manager`` for one test.

    Request it before the fixture that starts your app (its lifespan), so the app starts on
    the kit's memory storage and fake clock. Works in async tests (pytest-asyncio, anyio)
    and, for what needs no event loop, in plain ones.
    """
    with taskflow_test(taskflow_manager) as kit:
        yield kit
