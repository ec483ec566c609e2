"""The time limit of an attempt: validated where it is given, with a precise message."""

from __future__ import annotations

import math

import pytest

from fastapi_taskflow.application.enqueue import EnqueueOptions
from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.errors import TaskflowError, TaskTimeout


@pytest.mark.parametrize("value", [0, -1, -0.5, math.inf, math.nan])
def test_a_timeout_must_be_a_finite_number_above_zero(value: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        TaskConfig(name="export", timeout=value)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds above 0"):
        EnqueueOptions(timeout=value)


@pytest.mark.parametrize("value", [True, "30", [5]])
def test_a_timeout_must_be_a_number(value: object) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None"):
        TaskConfig(name="export", timeout=value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None"):
        EnqueueOptions(timeout=value)  # type: ignore[arg-type]


def test_a_timeout_is_kept_in_seconds_as_a_float() -> None:
    assert TaskConfig(name="export", timeout=30).timeout == 30.0
    assert isinstance(TaskConfig(name="export", timeout=30).timeout, float)
    assert TaskConfig(name="export").timeout is None
    assert EnqueueOptions(timeout=0.25).timeout == 0.25


def test_the_timeout_error_names_the_function_the_limit_and_the_attempt() -> None:
    error = TaskTimeout("send_report", 2.5, 3)
    assert str(error) == "send_report timed out after 2.5s on attempt 3"
    assert (error.func_name, error.timeout, error.attempt) == ("send_report", 2.5, 3)
    # Code that catches the standard exception, or ours, catches it too.
    assert isinstance(error, TimeoutError)
    assert isinstance(error, TaskflowError)
