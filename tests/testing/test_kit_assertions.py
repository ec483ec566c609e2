"""What the kit says about enqueued tasks, and how its assertions fail."""

from __future__ import annotations

import re

import pytest

from fastapi_taskflow import TaskManager, TaskStatus
from fastapi_taskflow.testing import taskflow_test

manager = TaskManager()


@manager.task()
async def send_email(address: str, *, subject: str = "hello") -> None:
    """Stands in for a real mail call."""


@manager.task(name="rebuild-index")
def rebuild_index() -> None:
    """Never enqueued by these tests."""


def not_a_task() -> None:
    """Not registered."""


def test_assert_enqueued_matches_exact_arguments_and_returns_the_task() -> None:
    with taskflow_test(manager) as kit:
        first = manager.add_task(send_email, "a@example.com")
        second = manager.add_task(send_email, "b@example.com", subject="invoice")

        assert kit.assert_enqueued(send_email, "a@example.com").task_id == first
        record = kit.assert_enqueued(send_email, "b@example.com", subject="invoice")
        assert record.task_id == second
        # Without arguments any call matches; the latest is returned.
        assert kit.assert_enqueued(send_email).task_id == second
        assert kit.assert_enqueued("send_email").task_id == second


def test_a_failed_assert_enqueued_lists_what_was_enqueued() -> None:
    with taskflow_test(manager) as kit:
        task_id = manager.add_task(send_email, "a@example.com", subject="invoice")

        with pytest.raises(AssertionError) as failure:
            kit.assert_enqueued(send_email, "a@example.com")

    assert str(failure.value) == (
        "expected send_email('a@example.com') to be enqueued; enqueued:\n"
        f"  - send_email('a@example.com', subject='invoice') [pending, id {task_id}]"
    )


def test_a_failed_assert_enqueued_says_when_nothing_was_enqueued() -> None:
    with taskflow_test(manager) as kit, pytest.raises(AssertionError) as failure:
        kit.assert_enqueued("rebuild-index")
    assert str(failure.value) == "expected rebuild-index to be enqueued; nothing was enqueued"


def test_assert_not_enqueued_names_the_tasks_it_found() -> None:
    with taskflow_test(manager) as kit:
        kit.assert_not_enqueued(send_email)
        kit.assert_not_enqueued(rebuild_index)
        task_id = manager.add_task(send_email, "c@example.com")

        with pytest.raises(AssertionError) as failure:
            kit.assert_not_enqueued(send_email)

    assert str(failure.value) == (
        "expected send_email not to be enqueued; it was 1 time(s):\n"
        f"  - send_email('c@example.com') [pending, id {task_id}]"
    )


def test_enqueued_filters_by_function_and_status() -> None:
    with taskflow_test(manager) as kit:
        manager.add_task(send_email, "a@example.com")
        assert [record.func_name for record in kit.enqueued()] == ["send_email"]
        assert kit.enqueued(rebuild_index) == []
        assert len(kit.enqueued(status=TaskStatus.PENDING)) == 1
        assert kit.enqueued(status=["success", "failed"]) == []
        with pytest.raises(ValueError):
            kit.enqueued(status="finished")


def test_functions_that_are_not_tasks_are_refused_with_a_reason() -> None:
    with taskflow_test(manager) as kit, pytest.raises(ValueError, match="not a registered task"):
        kit.assert_enqueued(not_a_task)


def test_task_looks_up_by_id() -> None:
    with taskflow_test(manager) as kit:
        task_id = manager.add_task(send_email, "a@example.com")
        assert kit.task(task_id).kwargs == {}
        assert kit.arguments(kit.task(task_id)) == (("a@example.com",), {})
        with pytest.raises(KeyError, match=re.escape("'nope'")):
            kit.task("nope")


async def test_arguments_are_compared_decrypted_when_encryption_is_on() -> None:
    from cryptography.fernet import Fernet

    sealed = TaskManager(encrypt_args_key=Fernet.generate_key())
    sealed.task()(send_email)
    async with taskflow_test(sealed) as kit:
        sealed.add_task(send_email, "secret@example.com")
        record = kit.assert_enqueued(send_email, "secret@example.com")
        assert "secret@example.com" not in repr(record.args)
        await kit.run_until_idle()
        assert record.status is TaskStatus.SUCCESS
