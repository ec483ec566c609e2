"""Response models of the admin API, so the OpenAPI schema is typed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from fastapi_taskflow.application.json_values import jsonable
from fastapi_taskflow.application.queues import QueueStats
from fastapi_taskflow.application.registry import RegisteredTask
from fastapi_taskflow.application.schedule_overview import EntryOverview, ScheduleOverview
from fastapi_taskflow.application.task_retries import BulkRetry, RetryOutcome
from fastapi_taskflow.domain.activity import Activity, DurationHistogram
from fastapi_taskflow.domain.audit import AuditAction, AuditEntry
from fastapi_taskflow.domain.metrics import DurationStats, TaskMetrics, success_rate
from fastapi_taskflow.domain.schedule import ScheduleEntry
from fastapi_taskflow.domain.status import TERMINAL_STATUSES, TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.fastapi.queue_schemas import QueueOut


class ProvenanceOut(BaseModel):
    """The HTTP request that enqueued a task; a field is null when it was not known."""

    route: str | None = Field(
        description="The route template that matched (`/orders/{order_id}`), else the path."
    )
    method: str | None = Field(description="The HTTP method (`POST`).")
    request_id: str | None = Field(
        description="The request's `X-Request-ID` header, or an id made up for the request."
    )
    principal: str | None = Field(description="The authenticated user, when there was one.")
    trace_parent: str | None = Field(
        description="The W3C `traceparent` of the span current when the task was enqueued."
    )


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
    retried_from: str | None = Field(
        default=None, description="The finished task this one re-runs (a retry or replay)."
    )
    retried_as: str | None = Field(
        default=None, description="The task an operator started to re-run this one."
    )
    provenance: ProvenanceOut | None = Field(
        default=None,
        description=(
            "The request that enqueued the task (for an operator's retry, the admin request); "
            "null for tasks enqueued outside a request, such as scheduled runs."
        ),
    )
    timeout: float | None = Field(
        default=None,
        description="Seconds each attempt may run before it fails as timed out; null: no limit.",
    )

    @classmethod
    def of(cls, record: TaskRecord, *, include_args: bool) -> TaskOut:
        data = record.to_dict(include_args=include_args and record.encrypted_payload is None)
        data["args"] = [jsonable(value) for value in data["args"]]
        data["kwargs"] = {key: jsonable(value) for key, value in data["kwargs"].items()}
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
    """Aggregates over every stored task, and the queues of the instance that answered."""

    by_function: dict[str, CountsOut]
    by_queue: dict[str, QueueOut] = Field(
        default_factory=dict,
        description="Each configured queue's limits and current counts in this instance.",
    )

    @classmethod
    def of(cls, metrics: TaskMetrics, queues: Sequence[QueueStats] = ()) -> MetricsOut:
        return cls(
            **_counts(metrics.counts, metrics.durations),
            by_function={
                fn.func_name: CountsOut(**_counts(fn.counts, fn.durations))
                for fn in metrics.functions
            },
            by_queue={stats.name: QueueOut.of(stats) for stats in queues},
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


class ReplayIn(BaseModel):
    """Edits applied when retrying a task; an omitted field keeps the original's value."""

    kwargs: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Replaces the keyword arguments (only where the admin displays arguments and "
            "they are not encrypted)."
        ),
    )
    tags: dict[str, str] | None = Field(default=None, description="Replaces the tags.")


class RetryOut(BaseModel):
    """The new task started by a retry."""

    task_id: str = Field(description="Id of the new task.")
    retried_from: str = Field(description="Id of the task that was retried.")
    task: TaskOut


class BulkRetryIn(BaseModel):
    task_ids: list[str] = Field(min_length=1, max_length=1000)


class RetryResultOut(BaseModel):
    task_id: str
    outcome: RetryOutcome
    new_task_id: str | None = Field(
        description="The new task when dispatched; the newer task when already retried."
    )
    detail: str | None = Field(description="Why the task was skipped.")


class BulkRetryOut(BaseModel):
    """What a bulk retry did, per task."""

    dispatched: int
    skipped: int
    results: list[RetryResultOut]

    @classmethod
    def of(cls, outcome: BulkRetry) -> BulkRetryOut:
        return cls(
            dispatched=outcome.dispatched,
            skipped=outcome.skipped,
            results=[
                RetryResultOut(
                    task_id=result.task_id,
                    outcome=result.outcome,
                    new_task_id=result.new_task_id,
                    detail=result.detail,
                )
                for result in outcome.results
            ],
        )


class HistoryDeletedOut(BaseModel):
    deleted: int = Field(description="Finished tasks deleted.")
    cutoff: datetime = Field(description="Tasks that ended before this instant were deleted.")


class AuditEntryOut(BaseModel):
    """One operator action."""

    entry_id: str
    at: datetime
    actor: str | None = Field(description="The signed-in user; null without authentication.")
    action: AuditAction
    task_ids: list[str]
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            entry_id=entry.entry_id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            task_ids=list(entry.task_ids),
            detail=dict(entry.detail),
        )


class FunctionOut(BaseModel):
    """A registered task function and how it runs."""

    name: str
    executor: str
    retries: int
    delay: float
    backoff: float
    max_delay: float | None
    jitter: float
    priority: int | None
    eager: bool
    persist: bool
    requeue_on_interrupt: bool
    timeout: float | None = Field(
        default=None, description="Seconds each attempt may run; null: no limit."
    )
    schedule: TriggerOut | None = Field(description="Its periodic trigger, when scheduled.")

    @classmethod
    def of(cls, task: RegisteredTask, entry: ScheduleEntry | None) -> FunctionOut:
        config = task.config
        return cls(
            name=task.name,
            executor=task.executor.value,
            retries=config.retries,
            delay=config.delay,
            backoff=config.backoff,
            max_delay=config.max_delay,
            jitter=config.jitter,
            priority=config.priority,
            eager=config.eager,
            persist=config.persist,
            requeue_on_interrupt=config.requeue_on_interrupt,
            timeout=config.timeout,
            schedule=None
            if entry is None
            else TriggerOut.model_validate(entry.trigger.describe()),
        )


class ActivityBucketOut(BaseModel):
    start: datetime
    success: int
    failed: int
    interrupted: int
    cancelled: int
    rejected: int


class ActivityOut(BaseModel):
    """Tasks that finished in each interval of a window, by final status."""

    bucket_seconds: float
    start: datetime
    end: datetime
    buckets: list[ActivityBucketOut]

    @classmethod
    def of(cls, activity: Activity) -> ActivityOut:
        window = activity.window
        return cls(
            bucket_seconds=window.bucket.total_seconds(),
            start=window.start,
            end=window.end,
            buckets=[
                ActivityBucketOut(
                    start=start,
                    **{status.value: counts.get(status, 0) for status in TERMINAL_STATUSES},
                )
                for start, counts in zip(window.starts(), activity.buckets, strict=True)
            ],
        )


class DurationBinOut(BaseModel):
    low: float | None = Field(description="Seconds, inclusive; null for the first bin.")
    high: float | None = Field(description="Seconds, exclusive; null for the last bin.")
    count: int


class DurationHistogramOut(BaseModel):
    """How many tasks took how long."""

    total: int
    bins: list[DurationBinOut]

    @classmethod
    def of(cls, histogram: DurationHistogram) -> DurationHistogramOut:
        lows: list[float | None] = [None, *histogram.edges]
        highs: list[float | None] = [*histogram.edges, None]
        return cls(
            total=histogram.total,
            bins=[
                DurationBinOut(low=low, high=high, count=count)
                for low, high, count in zip(lows, highs, histogram.counts, strict=True)
            ],
        )
