"""The process executor runs module-level functions in worker processes and reports back."""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fastapi_taskflow.adapters.executors import ProcessExecutor, WorkerTraceback
from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.ports.execution import Invocation

#: Upper bound for waits that should end quickly; reaching it means the test failed.
PATIENCE = 30.0


@pytest.fixture(scope="module")
def tasks() -> Iterator[ModuleType]:
    """The task functions, importable by name here and in workers (which inherit sys.path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("taskflow_worker_tasks")


@pytest.fixture(scope="module")
def executor(tasks: ModuleType) -> Iterator[ProcessExecutor]:
    """One pool for the module: starting workers is the slow part."""
    executor = ProcessExecutor(max_workers=2)
    yield executor
    asyncio.run(executor.shutdown(PATIENCE))


def call(func: Callable[..., Any], scope: Any, *args: Any, **kwargs: Any) -> Invocation:
    return Invocation(func=func, args=args, kwargs=kwargs, scope=scope)


async def async_job() -> None:
    return None


def test_is_the_process_kind() -> None:
    assert ProcessExecutor().kind is ExecutorKind.PROCESS


def test_accepts_module_level_functions(tasks: ModuleType) -> None:
    ProcessExecutor().check_function(tasks.add)
    ProcessExecutor().check_function(functools.partial(tasks.add, 1))


def nested_function() -> Callable[[], None]:
    def inner() -> None:
        return None

    return inner


@pytest.mark.parametrize(
    ("func", "reason"),
    [
        (lambda: None, "is a lambda"),
        (nested_function(), "defined inside another function"),
        (async_job, "is a coroutine function"),
        (42, "is not callable"),
    ],
    ids=["lambda", "nested", "coroutine function", "not callable"],
)
def test_rejects_what_a_worker_cannot_import_by_name(func: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        ProcessExecutor().check_function(func)
    assert "module level" in str(raised.value)


def test_coroutine_functions_are_pointed_to_the_async_executor() -> None:
    with pytest.raises(ValueError, match='executor="async"'):
        ProcessExecutor().check_function(async_job)


@pytest.mark.parametrize(
    "options",
    [{"max_workers": 0}, {"shutdown_timeout": -1.0}, {"mp_context": "teleport"}],
    ids=["no workers", "negative timeout", "unknown start method"],
)
def test_rejects_impossible_settings(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ProcessExecutor(**options)


def test_unpicklable_positional_argument_is_named() -> None:
    with pytest.raises(TaskArgumentError, match="positional argument 1") as raised:
        ProcessExecutor().check_arguments((1, threading.Lock()), {})
    assert "lock" in str(raised.value)


def test_unpicklable_keyword_argument_is_named() -> None:
    with pytest.raises(TaskArgumentError, match="keyword argument 'guard'"):
        ProcessExecutor().check_arguments((), {"guard": threading.Lock()})


async def test_run_refuses_unpicklable_arguments_before_starting_workers(
    tasks: ModuleType, make_scope: Any
) -> None:
    executor = ProcessExecutor()
    with pytest.raises(TaskArgumentError, match="keyword argument 'b'"):
        await executor.run(call(tasks.add, make_scope(), 1, b=threading.Lock()))
    await executor.shutdown(0)


async def test_result_comes_back_from_another_process(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    assert await executor.run(call(tasks.add, make_scope(), 2, b=3)) == 5
    assert await executor.run(call(tasks.worker_pid, make_scope())) != os.getpid()


async def test_task_context_is_available_in_the_worker(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    scope = make_scope("task-7", func_name="own_context", attempt=2, tags={"team": "ops"})

    seen = await executor.run(call(tasks.own_context, scope))

    assert seen == ("task-7", "own_context", 2, {"team": "ops"})


async def test_exception_keeps_type_and_message_with_the_worker_traceback_as_cause(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    with pytest.raises(ValueError, match=r"^boom 7$") as raised:
        await executor.run(call(tasks.fail, make_scope(), "boom 7"))

    cause = raised.value.__cause__
    assert isinstance(cause, WorkerTraceback)
    text = str(cause)
    assert text.startswith("Traceback (most recent call last):")
    assert "taskflow_worker_tasks.py" in text
    assert "in fail" in text
    assert text.rstrip().endswith("ValueError: boom 7")
    assert "run_call" not in text  # the executor's own frames are left out


async def test_unpicklable_exception_arrives_as_runtime_error_with_its_name(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    with pytest.raises(RuntimeError, match=r"taskflow_worker_tasks\.LockedError: jammed"):
        await executor.run(call(tasks.fail_unpicklably, make_scope(), "jammed"))


async def test_unpicklable_result_fails_the_call(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    with pytest.raises(TypeError, match=r"result .* cannot be pickled back"):
        await executor.run(call(tasks.unpicklable_result, make_scope()))


async def test_logs_are_replayed_in_order_with_the_workers_timestamps(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    scope = make_scope()
    stamp = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    before = datetime.now(timezone.utc)

    result = await executor.run(call(tasks.chatty, scope, stamp))

    assert result == "said three things"
    assert [(line.level, line.message) for line in scope.lines] == [
        ("info", "one"),
        ("warning", "two"),
        ("error", "three"),
    ]
    first, second, third = scope.lines
    assert first.extra == {"n": 1}
    assert first.timestamp is not None
    assert before - timedelta(seconds=1) <= first.timestamp <= datetime.now(timezone.utc)
    assert second.timestamp == stamp
    # A value that cannot be pickled is carried as its repr rather than losing the line.
    assert "lock" in third.extra["guard"]


async def test_lambda_arguments_travel_with_cloudpickle(
    executor: ProcessExecutor, tasks: ModuleType, make_scope: Any
) -> None:
    pytest.importorskip("cloudpickle")
    double = lambda x: x * 2  # noqa: E731

    executor.check_arguments((double, 21), {})
    assert await executor.run(call(tasks.apply, make_scope(), double, 21)) == 42


async def test_shutdown_terminates_busy_workers(
    tasks: ModuleType, make_scope: Any, tmp_path: Path
) -> None:
    executor = ProcessExecutor(max_workers=1, shutdown_timeout=0.1)
    marker = tmp_path / "pid"
    running = asyncio.create_task(
        executor.run(call(tasks.report_pid_then_block, make_scope(), str(marker)))
    )
    await eventually(marker.exists)
    pid = int(marker.read_text())

    await executor.shutdown()  # the constructor's 0.1 s, then terminate

    with pytest.raises(RuntimeError, match="worker was terminated"):
        await asyncio.wait_for(running, PATIENCE)
    await eventually(functools.partial(process_is_gone, pid))
    # A task manager may start again after a shutdown: the next call gets fresh workers.
    assert await executor.run(call(tasks.add, make_scope(), 1, 2)) == 3


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def eventually(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds; fail after PATIENCE seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def test_calls_beyond_max_workers_wait_for_a_free_worker(
    tasks: ModuleType, make_scope: Any
) -> None:
    executor = ProcessExecutor(max_workers=1)
    try:
        pids = await asyncio.wait_for(
            asyncio.gather(
                *(executor.run(call(tasks.worker_pid, make_scope())) for _ in range(3))
            ),
            PATIENCE,
        )
        assert len(set(pids)) == 1  # one worker served them in turn
        assert executor.workers == 1
    finally:
        await executor.shutdown(PATIENCE)


async def test_abandoning_a_call_kills_its_worker_and_a_new_one_takes_its_place(
    tasks: ModuleType, make_scope: Any, tmp_path: Path
) -> None:
    executor = ProcessExecutor(max_workers=2)
    try:
        marker = tmp_path / "pid"
        invocation = call(tasks.report_pid_then_block, make_scope(), str(marker))
        running = asyncio.create_task(executor.run(invocation))
        await eventually(marker.exists)
        pid = int(marker.read_text())
        # A call in the other worker, running across the kill.
        other = asyncio.create_task(executor.run(call(tasks.worker_pid, make_scope())))

        assert (await executor.abandon(invocation)).value == "stopped"

        with pytest.raises(BrokenProcessPool):
            await asyncio.wait_for(running, PATIENCE)
        await eventually(functools.partial(process_is_gone, pid))
        assert await asyncio.wait_for(other, PATIENCE) != pid
        assert executor.workers <= 2
        assert await executor.run(call(tasks.add, make_scope(), 2, 2)) == 4
        assert executor.workers <= 2
    finally:
        await executor.shutdown(PATIENCE)
