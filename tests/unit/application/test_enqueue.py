"""Accepting tasks: validation, idempotency keys, eager dispatch and encryption."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import pytest
from cryptography.fernet import Fernet

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.status import TaskStatus

from .conftest import Harness, wait_for

pytestmark = pytest.mark.asyncio


def process_report(report_id: int) -> int:
    return report_id


async def test_same_idempotency_key_returns_the_first_task(harness: Harness) -> None:
    runs: list[str] = []

    async def notify(order: str) -> None:
        runs.append(order)

    harness.register(notify)
    first = harness.service.enqueue(
        notify, ("o-1",), {}, EnqueueOptions(idempotency_key="order-1")
    )
    again = harness.service.enqueue(
        notify, ("o-1",), {}, EnqueueOptions(idempotency_key="order-1")
    )
    assert (first.created, again.created) == (True, False)
    assert again.task_id == first.task_id
    await harness.service.execute(first.task_id)
    assert runs == ["o-1"]


async def test_a_failed_task_releases_its_idempotency_key(harness: Harness) -> None:
    async def notify() -> None:
        raise RuntimeError("smtp down")

    harness.register(notify)
    first = harness.service.enqueue(notify, (), {}, EnqueueOptions(idempotency_key="k"))
    await harness.service.execute(first.task_id)
    assert harness.record(first.task_id).status is TaskStatus.FAILED
    second = harness.service.enqueue(notify, (), {}, EnqueueOptions(idempotency_key="k"))
    assert second.created and second.task_id != first.task_id


async def test_a_key_held_in_storage_stops_a_duplicate_from_running(harness: Harness) -> None:
    runs: list[int] = []

    async def charge() -> None:
        runs.append(1)

    harness.register(charge)
    # Another process (same store) already took the key.
    await harness.storage.reserve_idempotency_key("pay-9", "task-elsewhere")
    result = harness.service.enqueue(charge, (), {}, EnqueueOptions(idempotency_key="pay-9"))
    await harness.service.execute(result.task_id)
    record = harness.record(result.task_id)
    assert runs == []
    assert record.status is TaskStatus.CANCELLED
    assert record.error is not None and "task-elsewhere" in record.error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tags": {"user": 42}}, "tags must map str to str"),
        ({"tags": ["a"]}, "tags must be a dict"),
        ({"idempotency_key": ""}, "idempotency_key must be a non-empty string"),
        ({"priority": "urgent"}, "priority must be an integer"),
        ({"eager": "yes"}, "eager must be True or False"),
        ({"idempotency_key": "k" * 256}, "idempotency_key must be at most 255 characters"),
        ({"tags": {"t" * 256: "v"}}, "a tag key must be at most 255 characters"),
        ({"tags": {"tenant": "v" * 256}}, "a tag value must be at most 255 characters"),
    ],
)
async def test_invalid_options_are_refused_at_enqueue(
    harness: Harness, options: dict[str, object], message: str
) -> None:
    async def job() -> None:
        return None

    harness.register(job)
    with pytest.raises(ValueError, match=message):
        harness.service.enqueue(job, (), {}, EnqueueOptions(**options))  # type: ignore[arg-type]
    assert len(harness.service.recorder.store) == 0


async def test_unpicklable_arguments_of_process_tasks_fail_at_enqueue(harness: Harness) -> None:
    harness.register(process_report, executor="process")
    with pytest.raises(TaskArgumentError):
        harness.service.enqueue(process_report, (threading.Lock(),), {})
    assert len(harness.service.recorder.store) == 0


async def test_executor_that_does_not_fit_the_function_fails_at_registration(
    harness: Harness,
) -> None:
    async def coroutine_task() -> None:
        return None

    def plain_task() -> None:
        return None

    with pytest.raises(ValueError, match="executor"):
        harness.register(coroutine_task, executor="thread")
    with pytest.raises(ValueError, match="executor"):
        harness.register(plain_task, executor="async")
    with pytest.raises(ValueError, match="defined at module level"):
        harness.register(plain_task, executor="process")


async def test_two_functions_cannot_share_a_name(harness: Harness) -> None:
    def first() -> None: ...
    def second() -> None: ...

    harness.register(first, name="job")
    with pytest.raises(ValueError, match="already registered as task 'job'"):
        harness.register(second, name="job")


async def test_encrypted_arguments_are_never_kept_in_plain_text(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    key = Fernet.generate_key()
    harness = await make_harness(encrypt_args_key=key)
    received: list[tuple[str, str]] = []

    async def reset_password(email: str, token: str) -> None:
        received.append((email, token))

    harness.register(reset_password)
    result = harness.service.enqueue(reset_password, ("a@b.c",), {"token": "s3cret-canary"})
    record = harness.record(result.task_id)
    assert (record.args, record.kwargs) == ((), {})
    assert record.encrypted_payload is not None
    assert b"s3cret-canary" not in record.encrypted_payload
    await harness.service.execute(result.task_id)
    assert received == [("a@b.c", "s3cret-canary")]
    stored = await harness.storage.get(result.task_id)
    assert stored is not None and "s3cret-canary" not in repr(stored.to_dict())


async def test_eager_tasks_start_without_waiting_for_the_response(harness: Harness) -> None:
    started = threading.Event()

    async def warm_cache() -> None:
        started.set()

    harness.register(warm_cache, eager=True)
    result = harness.service.enqueue(warm_cache, (), {})
    assert result.immediate
    harness.service.dispatch_now(result.task_id)
    await wait_for(started.is_set, "the eager task to start")
