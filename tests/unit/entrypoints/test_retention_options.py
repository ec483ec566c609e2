"""``retention_days`` and ``retention_interval`` as users pass them to the facade."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_taskflow import TaskAdmin, TaskManager

BAD_DAYS = [0, -3, math.nan, math.inf, True, "30", 36_501]


@pytest.mark.parametrize("bad", BAD_DAYS)
def test_the_manager_refuses_bad_retention_days(bad: Any) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        TaskManager(retention_days=bad)


@pytest.mark.parametrize("bad", BAD_DAYS)
def test_setting_bad_retention_days_keeps_the_old_value(bad: Any) -> None:
    manager = TaskManager(retention_days=7)
    with pytest.raises(ValueError, match="retention_days"):
        manager.retention_days = bad
    assert manager.retention_days == 7


@pytest.mark.parametrize("bad", [0, -1, math.inf, "6h"])
def test_the_manager_refuses_a_bad_retention_interval(bad: Any) -> None:
    with pytest.raises(ValueError, match="retention_interval"):
        TaskManager(retention_interval=bad)


def test_task_admin_overrides_the_managers_retention_and_checks_it() -> None:
    manager = TaskManager(retention_days=30, retention_interval=600)
    TaskAdmin(FastAPI(), manager, retention_days=2.5)
    assert manager.retention_days == 2.5
    assert manager.service.retention_interval == 600
    with pytest.raises(ValueError, match="retention_days"):
        TaskAdmin(FastAPI(), TaskManager(), retention_days=0)


def test_retention_can_be_switched_off_and_on() -> None:
    manager = TaskManager(retention_days=30)
    manager.retention_days = None
    assert manager.retention_days is None
    manager.retention_days = 1
    assert manager.retention_days == 1
