"""``timeout=`` on the decorators and on ``add_task()``: bad values fail where they are given."""

from __future__ import annotations

import pytest

from fastapi_taskflow import TaskManager


async def send_digest() -> None:
    return None


def test_the_decorators_refuse_a_bad_timeout_before_registering() -> None:
    tm = TaskManager()
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.task(timeout=0)
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None"):
        tm.task(timeout="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.schedule(every=60, timeout=-1)(send_digest)
    assert tm.registry.get(send_digest) is None


def test_the_decorators_keep_the_timeout_in_the_tasks_config() -> None:
    tm = TaskManager()
    tm.task(timeout=30)(send_digest)
    entry = tm.registry.get(send_digest)
    assert entry is not None and entry.config.timeout == 30.0


async def test_add_task_refuses_a_bad_timeout_without_creating_a_task() -> None:
    tm = TaskManager()
    tm.task()(send_digest)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        tm.add_task(send_digest, timeout=0.0)
    assert len(tm.service.recorder.store) == 0
