"""pytest fixtures for fastapi-taskflow: ``taskflow`` (a testing kit) and
``taskflow_manager`` (override it to return your ``TaskManager``).

Enable with ``pytest_plugins = ["fastapi_taskflow.pytest_plugin"]`` in a ``conftest.py``.
"""

from __future__ import annotations

from fastapi_taskflow.entrypoints.testing.pytest_plugin import taskflow, taskflow_manager

__all__ = ["taskflow", "taskflow_manager"]
