"""What a person reads: tables, durations, local times, and the views of tasks, metrics,
retries, audit entries and schedules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from fastapi_taskflow.application.schedule_overview import ScheduleOverview
from fastapi_taskflow.application.task_retries import BulkRetry
from fastapi_taskflow.domain.audit import AuditEntry
from fastapi_taskflow.domain.metrics import DurationStats, TaskMetrics, success_rate
from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.domain.status import TaskStatus
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.cli.session import Arguments

#: Placeholder of an empty cell.
NONE = "-"
#: Widest cell of a free-text column (details, errors) before it is cut.
MAX_CELL = 60


# -- primitives -------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """``850ms``, ``3.2s``, ``4m 05s``, ``1h 12m``, ``2d 03h``; ``-`` when unknown."""
    if seconds is None:
        return NONE
    if seconds < 0:
        seconds = 0.0
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    minutes = whole // 60
    if minutes < 24 * 60:
        return f"{minutes // 60}h {minutes % 60:02d}m"
    hours = minutes // 60
    return f"{hours // 24}d {hours % 24:02d}h"


def local_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """``moment`` in the local time zone (or ``zone``), to the second."""
    if moment is None:
        return NONE
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def percent(share: float | None) -> str:
    return NONE if share is None else f"{share * 100:.1f}%"


def cut(text: str, width: int = MAX_CELL) -> str:
    """One line of at most ``width`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()
) -> str:
    """Columns padded to their widest cell; the columns in ``right`` are right-aligned."""
    body = [list(row) for row in rows]
    widths = [len(header) for header in headers]
    for row in body:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    aligned = set(right)

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if index in aligned else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in body)])


def fields(pairs: Iterable[tuple[str, str]]) -> str:
    """``label  value`` lines with the values aligned."""
    items = list(pairs)
    width = max((len(label) for label, _ in items), default=0)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in items)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), default=str, ensure_ascii=False)


def indented(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# -- tasks ------------------------------------------------------------------------------------


def task_table(records: Sequence[TaskRecord], zone: tzinfo | None = None) -> str:
    rows = [
        [
            record.task_id,
            record.status.value,
            record.func_name,
            local_time(record.created_at, zone),
            duration(record.duration),
            str(record.retries_used),
        ]
        for record in records
    ]
    headers = ["ID", "STATUS", "FUNCTION", "CREATED", "DURATION", "RETRIES"]
    return table(headers, rows, right=[4, 5])


def tags_text(tags: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(tags.items())) or NONE


def arguments_text(shown: Arguments) -> list[tuple[str, str]]:
    if shown.hidden is not None:
        return [("Arguments", shown.hidden)]
    return [("Args", compact(shown.args or [])), ("Kwargs", compact(shown.kwargs or {}))]


def origin_text(provenance: Provenance | None) -> list[tuple[str, str]]:
    """Where the task came from: the request's method and route, its id and user."""
    if provenance is None:
        return [("Enqueued by", "no request")]
    request = " ".join(part for part in (provenance.method, provenance.route) if part)
    return [
        ("Enqueued by", request or NONE),
        ("Request id", provenance.request_id or NONE),
        ("Principal", provenance.principal or NONE),
    ]


def task_details(record: TaskRecord, shown: Arguments, zone: tzinfo | None = None) -> str:
    pairs = [
        ("Task", record.task_id),
        ("Status", record.status.value),
        ("Function", record.func_name),
        ("Source", record.source),
        ("Queue", record.queue),
        ("Executor", record.executor.value if record.executor else NONE),
        ("Priority", NONE if record.priority is None else str(record.priority)),
        ("Created", local_time(record.created_at, zone)),
        ("Started", local_time(record.start_time, zone)),
        ("Ended", local_time(record.end_time, zone)),
        ("Duration", duration(record.duration)),
        ("Retries", str(record.retries_used)),
        ("Crash re-runs", str(record.crash_reruns)),
        ("Tags", tags_text(record.tags)),
        ("Idempotency key", record.idempotency_key or NONE),
        ("Retried from", record.retried_from or NONE),
        ("Retried as", record.retried_as or NONE),
        *origin_text(record.provenance),
        *arguments_text(shown),
        ("Error", record.error or NONE),
    ]
    sections = [fields(pairs)]
    if record.stacktrace:
        sections.append("Stack trace:\n" + indented(record.stacktrace.rstrip()))
    if record.logs:
        sections.append(f"Logs ({len(record.logs)} lines):\n" + indented("\n".join(record.logs)))
    else:
        sections.append("Logs: none")
    return "\n\n".join(sections)


# -- metrics ----------------------------------------------------------------------------------


def _durations(stats: DurationStats) -> list[str]:
    return [duration(stats.avg), duration(stats.min), duration(stats.max), duration(stats.p95)]


def metrics_report(metrics: TaskMetrics) -> str:
    counts = metrics.counts
    total = metrics.total
    lines = [
        f"Tasks: {total}   "
        + "   ".join(f"{status.value} {counts.get(status, 0)}" for status in TaskStatus),
        f"Success rate: {percent(counts.get(TaskStatus.SUCCESS, 0) / total if total else None)}"
        f" of all, {percent(metrics.success_rate)} of finished",
        "Durations: avg {} min {} max {} p95 {}".format(*_durations(metrics.durations)),
    ]
    if not metrics.functions:
        return "\n".join(lines)
    headers = ["FUNCTION", "TOTAL", *(s.value.upper() for s in TaskStatus), "SUCCESS%"]
    headers += ["AVG", "MIN", "MAX", "P95"]
    rows = []
    for fn in sorted(metrics.functions, key=lambda fn: fn.func_name):
        rows.append(
            [
                fn.func_name,
                str(sum(fn.counts.values())),
                *(str(fn.counts.get(status, 0)) for status in TaskStatus),
                percent(success_rate(fn.counts)),
                *_durations(fn.durations),
            ]
        )
    return "\n".join(lines) + "\n\n" + table(headers, rows, right=range(1, len(headers)))


# -- retries ----------------------------------------------------------------------------------


def bulk_report(outcome: BulkRetry) -> str:
    summary = f"Dispatched {outcome.dispatched}, skipped {outcome.skipped}."
    if not outcome.results:
        return summary
    rows = [
        [
            result.task_id,
            result.outcome.value,
            result.new_task_id or NONE,
            cut(result.detail or ""),
        ]
        for result in outcome.results
    ]
    return table(["TASK", "OUTCOME", "NEW TASK", "DETAIL"], rows) + "\n\n" + summary


def handed_off(period: float, count: int = 1) -> str:
    subject, them = ("It is", "it") if count == 1 else ("They are", "them")
    return (
        f"{subject} stored without an owner: the next recovery sweep of a running app instance "
        f"(every {period:g} s) claims and runs {them}."
    )


# -- audit ------------------------------------------------------------------------------------


def audit_table(entries: Sequence[AuditEntry], zone: tzinfo | None = None) -> str:
    rows = []
    for entry in entries:
        tasks = NONE
        if entry.task_ids:
            tasks = entry.task_ids[0]
            if len(entry.task_ids) > 1:
                tasks += f" (+{len(entry.task_ids) - 1})"
        detail = cut(compact(dict(entry.detail))) if entry.detail else NONE
        rows.append(
            [local_time(entry.at, zone), entry.actor or NONE, entry.action.value, tasks, detail]
        )
    return table(["AT", "ACTOR", "ACTION", "TASKS", "DETAIL"], rows)


# -- schedules --------------------------------------------------------------------------------


def _trigger(described: dict[str, Any]) -> str:
    if described.get("type") == "cron":
        return f"cron {described.get('cron')} ({described.get('timezone')})"
    return f"every {duration(described.get('every'))}"


def periodic_table(overview: ScheduleOverview, zone: tzinfo | None = None) -> str:
    if not overview.entries:
        return "Periodic entries: none registered."
    rows = []
    for row in overview.entries:
        claim = row.last_claim
        rows.append(
            [
                row.entry.name,
                _trigger(row.entry.trigger.describe()),
                local_time(row.next_run, zone),
                NONE if claim is None else local_time(claim.slot, zone),
                NONE if claim is None else claim.task_id,
                NONE if row.last_status is None else row.last_status.value,
            ]
        )
    headers = ["NAME", "TRIGGER", "NEXT RUN", "LAST RUN", "LAST TASK", "LAST STATUS"]
    return "Periodic entries:\n" + table(headers, rows)


def one_off_table(runs: Sequence[ScheduledOnce], total: int, zone: tzinfo | None = None) -> str:
    if not runs:
        return "One-off runs waiting: none."
    rows = [
        [run.run_key, run.func_name, local_time(run.run_at, zone), tags_text(run.tags)]
        for run in runs
    ]
    shown = "" if total <= len(runs) else f", the first {len(runs)} shown"
    return f"One-off runs waiting ({total}{shown}):\n" + table(
        ["RUN KEY", "FUNCTION", "RUN AT", "TAGS"], rows
    )
