"""SQL conditions for task queries and cursors."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from fastapi_taskflow.adapters.storage.sqlalchemy_schema import task_tags, tasks
from fastapi_taskflow.ports.cursor import Cursor
from fastapi_taskflow.ports.storage import TaskQuery


def query_conditions(query: TaskQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions equivalent to :meth:`TaskQuery.matches`."""
    conditions: list[ColumnElement[bool]] = []
    if query.statuses is not None:
        conditions.append(tasks.c.status.in_(sorted(status.value for status in query.statuses)))
    if query.func_name is not None:
        conditions.append(tasks.c.func_name == query.func_name)
    if query.tag is not None:
        key, value = query.tag
        tagged = select(task_tags.c.task_id).where(
            task_tags.c.tag_key == key, task_tags.c.tag_value == value
        )
        conditions.append(tasks.c.task_id.in_(tagged))
    if query.created_after is not None:
        conditions.append(tasks.c.created_at >= query.created_after)
    if query.created_before is not None:
        conditions.append(tasks.c.created_at < query.created_before)
    if query.source is not None:
        conditions.append(tasks.c.source == query.source)
    if query.queue is not None:
        conditions.append(tasks.c.queue == query.queue)
    if query.route is not None:
        conditions.append(tasks.c.route == query.route)
    if query.method is not None:
        conditions.append(tasks.c.method == query.method)
    if query.request_id is not None:
        conditions.append(tasks.c.request_id == query.request_id)
    if query.principal is not None:
        conditions.append(tasks.c.principal == query.principal)
    return conditions


def after_cursor(cursor: Cursor) -> ColumnElement[bool]:
    """Tasks that come after ``cursor`` in (created_at, task_id) descending order.

    Spelled with OR and AND rather than a row-value comparison, which not every supported
    database version understands; the (created_at, task_id) index still serves it.
    """
    return or_(
        tasks.c.created_at < cursor.created_at,
        and_(tasks.c.created_at == cursor.created_at, tasks.c.task_id < cursor.task_id),
    )
