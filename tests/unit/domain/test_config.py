"""Task configuration, priorities, executors and metrics helpers."""

from __future__ import annotations

import pytest

from fastapi_taskflow.domain.config import TaskConfig
from fastapi_taskflow.domain.events import format_log_line, level_at_least, parse_level
from fastapi_taskflow.domain.executor_kind import ExecutorKind
from fastapi_taskflow.domain.metrics import DurationStats, success_rate
from fastapi_taskflow.domain.priority import dispatch_order
from fastapi_taskflow.domain.status import TaskStatus


def test_config_builds_its_retry_policy() -> None:
    config = TaskConfig(name="send", retries=2, delay=1, backoff=3, max_delay=2)
    assert config.retry_policy.schedule() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"retries": -1}, "retries"),
        ({"delay": -5}, "delay"),
        ({"priority": "high"}, "priority must be an integer"),
        ({"executor": "gpu"}, "unknown executor 'gpu'; expected one of 'async', 'thread'"),
        ({"name": "  "}, "task name must be a non-empty string"),
        ({"name": "f" * 256}, "task name must be at most 255 characters"),
    ],
)
def test_invalid_configs_fail_with_a_clear_message(kwargs: dict[str, object], error: str) -> None:
    options: dict[str, object] = {"name": "send", **kwargs}
    with pytest.raises(ValueError, match=error):
        TaskConfig(**options)  # type: ignore[arg-type]


def test_executor_names_are_parsed() -> None:
    assert TaskConfig(name="x", executor="process").executor is ExecutorKind.PROCESS


def test_higher_priority_first_then_arrival_order() -> None:
    keys = {
        "low": dispatch_order(1, 0),
        "none": dispatch_order(None, 1),
        "high-late": dispatch_order(10, 5),
        "high-early": dispatch_order(10, 2),
    }
    assert sorted(keys, key=keys.__getitem__) == ["high-early", "high-late", "low", "none"]


def test_duration_stats_use_nearest_rank_p95() -> None:
    stats = DurationStats.of([float(n) for n in range(1, 21)])
    assert (stats.count, stats.min, stats.max, stats.avg, stats.p95) == (20, 1, 20, 10.5, 19)
    assert DurationStats.of([]).avg is None


def test_success_rate_counts_only_finished_tasks() -> None:
    counts = {TaskStatus.SUCCESS: 3, TaskStatus.FAILED: 1, TaskStatus.PENDING: 10}
    assert success_rate(counts) == 0.75
    assert success_rate({TaskStatus.PENDING: 2}) is None


def test_log_levels() -> None:
    assert parse_level("WARNING") == "warning"
    assert level_at_least("error", "warning") and not level_at_least("debug", "info")
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        parse_level("loud")


def test_log_line_format() -> None:
    from datetime import datetime, timezone

    stamp = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert format_log_line(stamp, "hello") == "2026-01-01T12:00:00.000+00:00 hello"
    assert (
        format_log_line(stamp, "slow", "warning", {"ms": 900})
        == "2026-01-01T12:00:00.000+00:00 [WARNING] slow ms=900"
    )
