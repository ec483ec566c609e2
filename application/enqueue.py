"""Accepting a task: validation, idempotency, encryption and the new pending record."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from fastapi_taskflow.application.argument_codec import ArgumentCodec
from fastapi_taskflow.application.changes import ChangeRecorder
from fastapi_taskflow.application.registry import TaskRegistry
from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.task import TaskRecord, TaskSource
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.serializer import Serializer


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
    ) -> None:
        self._registry = registry
        self._recorder = recorder
        self._codec = codec
        self._clock = clock
        self._instance_id = instance_id
        self._storage_serializer = storage_serializer
        self._new_id = new_id

    def enqueue(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        priority: int | None = None,
        eager: bool | None = None,
        source: TaskSource = "manual",
    ) -> Enqueued:
        """Create (or, by idempotency key, find) the task for this call.

        Raises:
            ValueError: For invalid options (tags, key, priority, eager).
            TaskArgumentError: When the arguments cannot reach the executor or storage.
        """
        entry = self._registry.get(func) or self._registry.adhoc(func)
        config = entry.config
        checked_tags = _check_tags(tags)
        _check_key(idempotency_key)
        effective_priority = config.priority if priority is None else _check_priority(priority)
        effective_eager = config.eager if eager is None else _check_eager(eager)

        if idempotency_key is not None:
            existing = self._recorder.store.find_by_idempotency_key(idempotency_key)
            if existing is not None:
                return Enqueued(existing, created=False, immediate=False)

        self._registry.executor(entry.executor).check_arguments(args, kwargs)
        payload: bytes | None = None
        if self._codec.encrypts:
            payload = self._codec.seal(args, kwargs)
            args, kwargs = (), {}
        elif self._storage_serializer is not None:
            _check_storable(self._storage_serializer, args, kwargs)

        record = TaskRecord(
            task_id=self._new_id(),
            func_name=config.name,
            created_at=self._clock.now(),
            args=tuple(args),
            kwargs=dict(kwargs),
            tags=checked_tags,
            idempotency_key=idempotency_key,
            priority=effective_priority,
            source=source,
            executor=entry.executor,
            encrypted_payload=payload,
            instance_id=self._instance_id,
        )
        self._recorder.created(record)
        return Enqueued(
            record, created=True, immediate=effective_eager or effective_priority is not None
        )


def _check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValueError(f"tags must be a dict of str to str, got {type(tags).__name__}")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"tags must map str to str; got {key!r}: {value!r}")
    return dict(tags)


def _check_key(key: str | None) -> None:
    if key is not None and (not isinstance(key, str) or not key):
        raise ValueError(f"idempotency_key must be a non-empty string, got {key!r}")


def _check_priority(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"priority must be an integer, got {priority!r}")
    return priority


def _check_eager(eager: bool) -> bool:
    if not isinstance(eager, bool):
        raise ValueError(f"eager must be True or False, got {eager!r}")
    return eager


def _check_storable(serializer: Serializer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # Storage writes happen later, in the background; refuse now what could not be written then.
    try:
        serializer.dumps(list(args))
        serializer.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise TaskArgumentError(f"task arguments cannot be stored: {exc}") from exc
