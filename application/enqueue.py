"""Accepting a task: validation, idempotency, encryption and the new pending record."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from fastapi_taskflow.application.argument_codec import ArgumentCodec
from fastapi_taskflow.application.attempt_tracing import AttemptTracing
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.queues import Queues
from fastapi_taskflow.application.registry import RegisteredTask, TaskRegistry
from fastapi_taskflow.domain.errors import QueueFullError, TaskArgumentError
from fastapi_taskflow.domain.limits import check_length
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.queue import check_queue_name
from fastapi_taskflow.domain.task import TaskRecord, TaskSource
from fastapi_taskflow.domain.timeout import checked_timeout
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.serializer import Serializer


def checked_tags(value: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of ``value`` (``{}`` for ``None``); ``ValueError`` unless it maps short strings
    to short strings."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"tags must be a dict of str to str, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValueError(f"tags must map str to str; got {key!r}: {item!r}")
        check_length("a tag key", key)
        check_length("a tag value", item)
    return dict(value)


def _key(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"idempotency_key must be a non-empty string, got {value!r}")
    if value is not None:
        check_length("idempotency_key", value)


def _priority(_inst: object, _attr: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"priority must be an integer, got {value!r}")


def _queue(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        check_queue_name(value)


def _eager(_inst: object, _attr: attrs.Attribute[bool | None], value: bool | None) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"eager must be True or False, got {value!r}")


@attrs.frozen(kw_only=True)
class EnqueueOptions:
    """Per-call options of ``add_task()``; ``None`` means "use the task's default".

    Validated on construction, so bad input fails where ``add_task()`` was called.
    """

    tags: dict[str, str] = attrs.field(factory=dict, converter=checked_tags)
    idempotency_key: str | None = attrs.field(default=None, validator=_key)
    priority: int | None = attrs.field(default=None, validator=_priority)
    eager: bool | None = attrs.field(default=None, validator=_eager)
    #: The named queue to wait in; ``None`` uses the task's (``"default"`` unless set).
    queue: str | None = attrs.field(default=None, validator=_queue)
    source: TaskSource = "manual"
    #: The request that enqueued the task (filled in by the web entrypoint).
    provenance: Provenance | None = None
    #: Seconds each attempt may run (``None``: the task's own ``timeout``).
    timeout: float | None = attrs.field(default=None, converter=checked_timeout)


@attrs.frozen(kw_only=True)
class SealedArguments:
    """Arguments ready for storage: in plain form, or only as an encrypted payload."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    payload: bytes | None = None


@attrs.frozen
class Enqueued:
    """The outcome of an enqueue."""

    record: TaskRecord
    #: False when an idempotency key matched an existing task (nothing new was created).
    created: bool
    #: Start at once instead of after the response (eager, or routed by priority).
    immediate: bool

    @property
    def task_id(self) -> str:
        return self.record.task_id


class Enqueuer:
    """Turns ``add_task(func, *args, **kwargs)`` into a pending task record."""

    def __init__(
        self,
        *,
        registry: TaskRegistry,
        recorder: ChangeRecorder,
        codec: ArgumentCodec,
        clock: Clock,
        instance_id: str,
        storage_serializer: Serializer | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        tracing: AttemptTracing | None = None,
        queues: Queues | None = None,
    ) -> None:
        self._registry = registry
        self._queues = queues
        self._recorder = recorder
        self._codec = codec
        self._clock = clock
        self._instance_id = instance_id
        self._storage_serializer = storage_serializer
        self._new_id = new_id
        self._tracing = tracing or AttemptTracing()

    def enqueue(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: EnqueueOptions | None = None,
    ) -> Enqueued:
        """Create (or, by idempotency key, find) the task for this call.

        Raises:
            ValueError: When the queue is not configured.
            TaskArgumentError: When the arguments cannot reach the executor or storage.
            StorageBacklogFull: When storage has fallen too far behind to take more tasks.
            QueueFullError: When the queue already holds ``max_size`` waiting tasks; the
                task is then recorded as ``rejected``.
        """
        options = options or EnqueueOptions()
        entry = self._registry.get(func) or self._registry.adhoc(func)
        config = entry.config
        priority = config.priority if options.priority is None else options.priority
        eager = config.eager if options.eager is None else options.eager
        queue = config.queue if options.queue is None else options.queue
        if self._queues is not None:
            self._queues.check(queue)

        if options.idempotency_key is not None:
            existing = self._recorder.store.find_by_idempotency_key(options.idempotency_key)
            if existing is not None:
                return Enqueued(existing, created=False, immediate=False)

        sealed = self.seal(entry, args, kwargs)
        self._recorder.writer.admit()
        record = self.new_record(
            entry,
            sealed,
            tags=options.tags,
            idempotency_key=options.idempotency_key,
            priority=priority,
            source=options.source,
            provenance=self._traced(options.provenance),
            queue=queue,
            timeout=options.timeout,
        )
        refusal = None if self._queues is None else self._queues.refusal(queue)
        if refusal is not None and self._queues is not None:
            # Kept as a rejected task, arguments sealed as usual, so it can be replayed.
            record.reject(
                self._clock.now(),
                f"queue {queue!r} was full ({refusal.waiting} waiting, max_size "
                f"{refusal.max_size})",
            )
            self._recorder.created(record)
            self._queues.rejected(queue)
            raise QueueFullError(
                queue, refusal.max_size, refusal.waiting, refusal.retry_after, record.task_id
            )
        self._recorder.created(record)
        return Enqueued(record, created=True, immediate=eager or priority is not None)

    def _traced(self, provenance: Provenance | None) -> Provenance | None:
        # The span current in the enqueuing code, kept with the task so that every attempt,
        # including one run after a restart, can link back to it.
        if provenance is not None and provenance.trace_parent is not None:
            return provenance
        trace_parent = self._tracing.trace_parent()
        if trace_parent is None:
            return provenance
        return attrs.evolve(provenance or Provenance(), trace_parent=trace_parent)

    def seal(
        self, entry: RegisteredTask, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> SealedArguments:
        """Check that the arguments can reach ``entry``'s executor and storage, and encrypt
        them when encryption is on.

        Raises:
            TaskArgumentError: When they cannot.
        """
        self._registry.executor(entry.executor).check_arguments(args, kwargs)
        if self._codec.encrypts:
            return SealedArguments(payload=self._codec.seal(args, kwargs))
        if self._storage_serializer is not None:
            _check_storable(self._storage_serializer, args, kwargs)
        return SealedArguments(args=tuple(args), kwargs=dict(kwargs))

    def new_record(
        self,
        entry: RegisteredTask,
        sealed: SealedArguments,
        *,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        priority: int | None = None,
        source: TaskSource = "manual",
        provenance: Provenance | None = None,
        queue: str | None = None,
        timeout: float | None = None,
    ) -> TaskRecord:
        """A new pending task of ``entry``, owned by this instance (not yet recorded), in
        ``queue`` (default: the task's).

        ``timeout`` overrides the task's own; it is stored with the task, so a run recovered
        after a restart, or by another instance, keeps it.
        """
        return TaskRecord(
            task_id=self._new_id(),
            func_name=entry.name,
            created_at=self._clock.now(),
            args=sealed.args,
            kwargs=dict(sealed.kwargs),
            tags=dict(tags or {}),
            idempotency_key=idempotency_key,
            priority=priority,
            source=source,
            executor=entry.executor,
            encrypted_payload=sealed.payload,
            instance_id=self._instance_id,
            provenance=None if provenance is None or provenance.empty else provenance,
            queue=entry.config.queue if queue is None else queue,
            timeout=entry.config.timeout if timeout is None else timeout,
        )


def _check_storable(serializer: Serializer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # Storage writes happen later, in the background; refuse now what could not be written then.
    try:
        serializer.dumps(list(args))
        serializer.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise TaskArgumentError(f"task arguments cannot be stored: {exc}") from exc
