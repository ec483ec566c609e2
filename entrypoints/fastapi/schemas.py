"""Response models of the admin API, so the OpenAPI schema is typed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from fastapi_taskflow.application.schedule_overview import EntryOverview, ScheduleOverview
from fastapi_taskflow.domain.metrics import DurationStats, TaskMetrics, success_rate
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord


class TaskOut(BaseModel):
    """A task as the API returns it."""

    task_id: str
    func_name: str
    status: TaskStatus
    args: list[Any] = Field(description="Empty unless the admin displays function arguments.")
    kwargs: dict[str, Any] = Field(description="Empty unless the admin displays arguments.")
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    duration: float | None = Field(description="Seconds from first start to end.")
    retries_used: int
    error: str | None
    stacktrace: str | None
    logs: list[str]
    tags: dict[str, str]
    idempotency_key: str | None
    priority: int | None
    source: str
    executor: str | None
    encrypted: bool = Field(description="Arguments are stored encrypted.")
    queue: str = Field(description="The queue the task waits in.")
    crash_reruns: int = Field(
        description="Times the task was started again after the process running it died."
    )

    @classmethod
    def of(cls, record: TaskRecord, *, include_args: bool) -> TaskOut:
        data = record.to_dict(include_args=include_args and record.encrypted_payload is None)
        data["args"] = [_jsonable(value) for value in data["args"]]
        data["kwargs"] = {key: _jsonable(value) for key, value in data["kwargs"].items()}
        return cls.model_validate(data)


class CancelOut(BaseModel):
    """The answer to a cancel request."""

    task_id: str
    task: TaskOut


class DurationsOut(BaseModel):
    avg_duration: float | None
    min_duration: float | None
    max_duration: float | None
    p95_duration: float | None

    @classmethod
    def fields_of(cls, stats: DurationStats) -> dict[str, float | None]:
        return {
            "avg_duration": stats.avg,
            "min_duration": stats.min,
            "max_duration": stats.max,
            "p95_duration": stats.p95,
        }


class CountsOut(DurationsOut):
    total: int
    pending: int
    running: int
    success: int
    failed: int
    interrupted: int
    cancelled: int
    rejected: int
    success_rate: float = Field(
        description="Successes over all tasks counted (0 to 1; 0 when there are none)."
    )
    finished_success_rate: float | None = Field(
        description="Successes over finished tasks (0 to 1; null before any finished)."
    )
    avg_duration_seconds: float = Field(
        description="Mean duration of finished tasks in seconds (0 when there are none)."
    )


class MetricsOut(CountsOut):
    """Aggregates over every stored task."""

    by_function: dict[str, CountsOut]

    @classmethod
    def of(cls, metrics: TaskMetrics) -> MetricsOut:
        return cls(
            **_counts(metrics.counts, metrics.durations),
            by_function={
                fn.func_name: CountsOut(**_counts(fn.counts, fn.durations))
                for fn in metrics.functions
            },
        )


def _counts(counts: Any, durations: DurationStats) -> dict[str, Any]:
    data: dict[str, Any] = {status.value: counts.get(status, 0) for status in TaskStatus}
    total = sum(counts.values())
    data["total"] = total
    # success_rate and avg_duration_seconds keep the meaning the original API gave them.
    data["success_rate"] = data["success"] / total if total else 0.0
    data["finished_success_rate"] = success_rate(counts)
    data["avg_duration_seconds"] = round(durations.avg, 6) if durations.avg is not None else 0.0
    data.update(DurationsOut.fields_of(durations))
    return data


def _jsonable(value: Any) -> Any:
    # Arguments may be any Python object; the API shows what JSON can carry and a repr otherwise.
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return repr(value)


class TriggerOut(BaseModel):
    """When an entry is due: ``every`` seconds, or a cron expression in a time zone."""

    type: str = Field(description="`interval` or `cron`.")
    every: float | None = Field(default=None, description="Seconds between slots.")
    cron: str | None = Field(default=None, description="The five-field cron expression.")
    timezone: str | None = Field(default=None, description="IANA zone the cron is read in.")


class LastRunOut(BaseModel):
    """The latest slot any instance fired, and the task it started."""

    slot: datetime
    task_id: str
    status: TaskStatus | None = Field(description="`null` once the task left the history.")


class ScheduleEntryOut(BaseModel):
    """A periodic entry."""

    name: str
    trigger: TriggerOut
    next_run: datetime
    last_run: LastRunOut | None
    run_on_startup: bool
    missed: str = Field(description="`skip` or `run_once`: what happens to missed slots.")
    retries: int
    executor: str

    @classmethod
    def of(cls, row: EntryOverview) -> ScheduleEntryOut:
        claim = row.last_claim
        return cls(
            name=row.entry.name,
            trigger=TriggerOut.model_validate(row.entry.trigger.describe()),
            next_run=row.next_run,
            last_run=None
            if claim is None
            else LastRunOut(slot=claim.slot, task_id=claim.task_id, status=row.last_status),
            run_on_startup=row.entry.run_on_startup,
            missed=row.entry.missed.value,
            retries=row.retries,
            executor=row.executor,
        )


class SchedulesOut(BaseModel):
    """Every periodic entry, and how many one-off runs are waiting."""

    entries: list[ScheduleEntryOut]
    one_off_armed: int = Field(description="One-off runs stored and waiting for their time.")

    @classmethod
    def of(cls, overview: ScheduleOverview) -> SchedulesOut:
        return cls(
            entries=[ScheduleEntryOut.of(row) for row in overview.entries],
            one_off_armed=overview.one_offs_armed,
        )
