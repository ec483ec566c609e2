"""What a running task can learn about itself."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen(kw_only=True)
class TaskContext:
    """Returned by ``get_task_context()`` inside a running task."""

    task_id: str
    func_name: str
    #: 1 for the first attempt, 2 for the first retry, and so on.
    attempt: int
    tags: Mapping[str, str] = attrs.field(factory=dict)
