"""Starting tasks, tracking the ones in flight, and stopping them on request or at shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import logging
from collections.abc import Callable

from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.queues import Queues
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.application.run_task import TaskRunner
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock

_log = logging.getLogger("fastapi_taskflow.dispatch")


class StopReason(enum.Enum):
    CANCEL = "cancel"
    INTERRUPT = "interrupt"


class Dispatcher:
    """Owns one asyncio task per dispatched task: waiting for a slot, then running.

    Each task runs in its own asyncio task so it can be cancelled without touching the request
    (or anything else) that started it. Every task, eager or prioritised, waits for a slot of
    its own queue.
    """

    def __init__(
        self,
        *,
        runner: TaskRunner,
        queues: Queues,
        recorder: ChangeRecorder,
        registry: TaskRegistry,
        clock: Clock,
    ) -> None:
        self._runner = runner
        self._queues = queues
        self._recorder = recorder
        self._registry = registry
        self._clock = clock
        self._active: dict[str, asyncio.Task[None]] = {}
        self._stop_reasons: dict[str, StopReason] = {}

    @property
    def in_flight(self) -> int:
        """Tasks dispatched and not finished (waiting for a slot or running)."""
        return len(self._active)

    def in_flight_tasks(self) -> dict[str, asyncio.Task[None]]:
        """The asyncio task driving each task in flight, by task id (a copy)."""
        return dict(self._active)

    def is_dispatched(self, task_id: str) -> bool:
        """Whether ``task_id`` is waiting for a slot or running here."""
        return task_id in self._active

    def start(self, task_id: str, context: contextvars.Context | None = None) -> None:
        """Begin ``task_id`` now, in the background. Must be called on the event loop."""
        if task_id in self._active:
            return
        task = asyncio.get_running_loop().create_task(
            self._drive(task_id, context), name=f"taskflow:{task_id}"
        )
        self._active[task_id] = task
        task.add_done_callback(lambda _: self._active.pop(task_id, None))

    async def execute(self, task_id: str, context: contextvars.Context | None = None) -> None:
        """Run ``task_id`` and wait until it finishes (the after-response path).

        If the caller is cancelled, the task itself carries on; only shutdown or an explicit
        cancel stops it.
        """
        self.start(task_id, context)
        task = self._active.get(task_id)
        if task is not None:
            await asyncio.wait({task})

    def cancel(self, task_id: str) -> bool:
        """Stop a task dispatched here; True when there was one to stop."""
        task = self._active.get(task_id)
        if task is None or task.done():
            return False
        self._stop_reasons[task_id] = StopReason.CANCEL
        task.cancel()
        return True

    async def cancel_and_wait(self, task_id: str) -> bool:
        """Like :meth:`cancel`, returning once the task has recorded its cancellation."""
        task = self._active.get(task_id)
        if not self.cancel(task_id) or task is None:
            return False
        await asyncio.wait({task})
        return True

    async def interrupt_all(self) -> int:
        """Stop every task in flight as interrupted (shutdown). Returns how many."""
        tasks = [(task_id, task) for task_id, task in self._active.items() if not task.done()]
        for task_id, task in tasks:
            self._stop_reasons.setdefault(task_id, StopReason.INTERRUPT)
            task.cancel()
        await asyncio.gather(*(task for _, task in tasks), return_exceptions=True)
        return len(tasks)

    async def wait_for(self, select: Callable[[TaskRecord], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the tasks in flight that ``select`` picks."""
        chosen = []
        for task_id, task in self._active.items():
            record = self._recorder.store.get(task_id)
            if record is not None and not task.done() and select(record):
                chosen.append(task)
        if not chosen:
            return True
        _, pending = await asyncio.wait(chosen, timeout=timeout)
        return not pending

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every task in flight to finish."""
        tasks = [task for task in self._active.values() if not task.done()]
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    async def _drive(self, task_id: str, context: contextvars.Context | None) -> None:
        record = self._recorder.store.get(task_id)
        if record is None or record.status is not TaskStatus.PENDING:
            return
        try:
            limiter = self._queues.limiter(record.queue)
            async with limiter.slot(record.priority, record.tags):
                if record.status is TaskStatus.PENDING:  # it may have been cancelled meanwhile
                    await self._runner.run(
                        record,
                        context,
                        cancelled=lambda: self._stop_reasons.get(task_id) is StopReason.CANCEL,
                    )
                    self._queues.finished(record.queue, record.duration)
        except asyncio.CancelledError:
            reason = self._stop_reasons.pop(task_id, None)
            self._settle_stopped(record, reason or StopReason.INTERRUPT)
            if reason is None:
                raise  # cancelled by someone else (the loop is closing): let it propagate
        except Exception:
            # The runner records task failures itself; reaching here is a bug worth a trace.
            _log.exception("unexpected error while running task %s", task_id)

    def _settle_stopped(self, record: TaskRecord, reason: StopReason) -> None:
        if record.status is not TaskStatus.RUNNING:
            return  # still pending: cancel already recorded it, or recovery will pick it up
        now = self._clock.now()
        if reason is StopReason.CANCEL:
            record.cancel(now)
        else:
            record.interrupt(now)
            entry = self._registry.resolve(record.func_name)
            if entry is not None and entry.config.requeue_on_interrupt:
                record.requeue(now)
        self._recorder.changed(record)
