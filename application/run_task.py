"""Running a task: its attempts, retries with backoff, and the final outcome."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import traceback
from collections.abc import Callable

from fastapi_taskflow.application.argument_codec import ArgumentCodec
from fastapi_taskflow.application.attempt_tracing import AttemptTracing
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.registry import RegisteredTask, TaskRegistry
from fastapi_taskflow.application.task_scope import RecordScope
from fastapi_taskflow.domain.errors import FunctionNotRegistered, TaskTimeout, UnreadableArguments
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.execution import Abandoned, Executor, Invocation
from fastapi_taskflow.ports.storage import IdempotencyKeys
from fastapi_taskflow.ports.tracing import AttemptOutcome, AttemptSpan

_log = logging.getLogger("fastapi_taskflow.dispatch")

#: Name prefix of the asyncio task timing an attempt (followed by the task id), so that a
#: driver of a fake clock can tell an attempt's deadline from other sleepers.
DEADLINE_TASK_PREFIX = "taskflow-deadline:"


def describe_error(exc: BaseException) -> str:
    """``ValueError: bad input`` — the error line stored on the task."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class TaskRunner:
    """Runs a pending task that holds an execution slot, through to a terminal status."""

    def __init__(
        self,
        *,
        registry: TaskRegistry,
        recorder: ChangeRecorder,
        codec: ArgumentCodec,
        clock: Clock,
        idempotency: IdempotencyKeys,
        rng: random.Random | None = None,
        tracing: AttemptTracing | None = None,
    ) -> None:
        self._registry = registry
        self._recorder = recorder
        self._codec = codec
        self._clock = clock
        self._idempotency = idempotency
        self._rng = rng or random.Random()
        self._tracing = tracing or AttemptTracing()

    async def run(
        self,
        record: TaskRecord,
        context: contextvars.Context | None,
        *,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        """Run ``record`` (pending) with retries; cancellation propagates to the caller.

        ``cancelled`` tells, once the run has been stopped, whether that was an explicit
        cancel (rather than an interruption at shutdown); it only labels the attempt's trace.
        """
        entry = self._registry.resolve(record.func_name)
        if entry is None:
            record.fail(self._clock.now(), str(FunctionNotRegistered(record.func_name)))
            self._recorder.changed(record)
            return
        if not await self._holds_idempotency_key(record):
            return
        try:
            args, kwargs = self._codec.arguments(record)
        except UnreadableArguments as exc:
            # A configuration problem, not a bug: the stack would only show our own frames.
            record.fail(self._clock.now(), describe_error(exc))
            self._recorder.changed(record)
            return
        except Exception as exc:
            record.fail(
                self._clock.now(),
                f"task arguments could not be decoded: {describe_error(exc)}",
                "".join(traceback.format_exception(exc)),
            )
            self._recorder.changed(record)
            return
        record.start(self._clock.now())
        self._recorder.changed(record)
        await self._attempts(record, entry, args, kwargs, context, cancelled)

    async def _attempts(
        self,
        record: TaskRecord,
        entry: RegisteredTask,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        context: contextvars.Context | None,
        cancelled: Callable[[], bool],
    ) -> None:
        executor = self._registry.executor(entry.executor)
        policy = entry.config.retry_policy
        while True:
            attempt_context, span = self._tracing.open(record, context)
            scope = RecordScope(record, self._recorder, span)
            invocation = Invocation(
                func=entry.func,
                args=args,
                kwargs=kwargs,
                scope=scope,
                context=attempt_context,
            )
            try:
                await self._call(executor, invocation, record, scope)
            except asyncio.CancelledError:
                stopped = AttemptOutcome.CANCELLED if cancelled() else AttemptOutcome.INTERRUPTED
                _end(span, stopped)
                raise
            except Exception as exc:
                error = describe_error(exc)
                if not policy.allows_retry(record.attempt):
                    _end(span, AttemptOutcome.FAILED, exc)
                    stack = "".join(traceback.format_exception(exc))
                    record.fail(self._clock.now(), error, stack)
                    self._recorder.changed(record)
                    return
                _end(span, AttemptOutcome.RETRYING, exc)
                wait = policy.delay_before(record.attempt, self._rng.random())
                self._recorder.logged(
                    record,
                    "warning",
                    f"Attempt {record.attempt} failed: {error}; retrying in {wait:g}s",
                    {},
                )
                await self._clock.sleep(wait)
                separator = record.begin_retry()
                self._recorder.logged(record, "info", separator, {})
                self._recorder.changed(record, error=error)
            else:
                _end(span, AttemptOutcome.SUCCESS)
                record.succeed(self._clock.now())
                self._recorder.changed(record)
                return

    async def _call(
        self, executor: Executor, invocation: Invocation, record: TaskRecord, scope: RecordScope
    ) -> None:
        """One attempt, given up on with :class:`TaskTimeout` once ``record.timeout`` passes.

        The deadline is measured on the clock port, so a fake clock drives it in tests.
        """
        limit = record.timeout
        if limit is None:
            await executor.run(invocation)
            return
        loop = asyncio.get_running_loop()
        call = loop.create_task(executor.run(invocation))
        deadline = loop.create_task(
            self._clock.sleep(limit), name=f"{DEADLINE_TASK_PREFIX}{record.task_id}"
        )
        try:
            await asyncio.wait({call, deadline}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Stopped from outside (cancel, shutdown): the call stops as it would without a
            # time limit, and the caller hears of it once the call has unwound.
            deadline.cancel()
            call.cancel()
            await asyncio.wait({call})
            raise
        if call.done():
            deadline.cancel()
            call.result()
            return
        # Past the deadline the outcome is decided, even if the call is about to return.
        abandoned = await executor.abandon(invocation)
        scope.close()
        call.cancel()
        await asyncio.wait({call})
        if not call.cancelled():
            call.exception()  # retrieved, so asyncio does not report it as never seen
        timeout = TaskTimeout(record.func_name, limit, record.attempt)
        if abandoned is Abandoned.LEFT_RUNNING:
            _log.warning(
                "task %s (%s) timed out after %gs; its thread keeps running until the function "
                "returns, holding a thread of the pool, and whatever it returns is ignored",
                record.func_name,
                record.task_id,
                limit,
            )
            self._recorder.logged(
                record,
                "warning",
                f"Attempt {record.attempt} timed out after {limit:g}s; its thread keeps "
                "running until the function returns, and its outcome will be ignored",
                {},
            )
        raise timeout

    async def _holds_idempotency_key(self, record: TaskRecord) -> bool:
        key = record.idempotency_key
        if key is None:
            return True
        holder = await self._idempotency.reserve_idempotency_key(key, record.task_id)
        if holder == record.task_id:
            return True
        self._recorder.logged(
            record,
            "info",
            f"Not run: idempotency key {key!r} belongs to task {holder}",
            {"duplicate_of": holder},
        )
        record.cancel(self._clock.now())
        record.error = f"duplicate of task {holder} (idempotency key {key!r})"
        self._recorder.changed(record)
        return False


def _end(
    span: AttemptSpan | None, outcome: AttemptOutcome, error: Exception | None = None
) -> None:
    if span is not None:
        span.end(outcome, error)
