"""Process tasks run for real in worker processes under the kit; their retry waits are fake."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest

from fastapi_taskflow import TaskManager, TaskStatus
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.testing import taskflow_test

pytestmark = pytest.mark.slow


async def test_a_process_task_retries_at_fake_times_and_its_pool_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    worker_tasks = importlib.import_module("kit_worker_tasks")
    manager = TaskManager(max_process_workers=1)
    flaky = manager.task(executor="process", retries=1, delay=45)(worker_tasks.fail_first_time)

    # Starting a worker process takes real time; the timeout leaves room for a busy machine.
    async with taskflow_test(manager, timeout=60) as kit:
        started = kit.now()
        task_id = manager.add_task(flaky, str(tmp_path / "marker"))
        await kit.run_until_idle()

        record = kit.task(task_id)
        assert (record.status, record.attempt) == (TaskStatus.SUCCESS, 2)
        assert kit.now() - started == timedelta(seconds=45)

    process_executor = manager.container.executors()[ExecutorKind.PROCESS]
    assert process_executor.workers == 0  # the kit stopped the workers it started
