"""Bodies of the admin API's queue routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from fastapi_taskflow.application.queues import QueueStats
from fastapi_taskflow.domain.limits import MAX_NAME_LENGTH


class QueueOut(BaseModel):
    """One named queue in the instance that answered: its limits and what it holds now."""

    name: str
    concurrency: int | None = Field(description="Most tasks running at once; null: no limit.")
    max_size: int | None = Field(description="Most tasks waiting; null: no limit.")
    fair_by: str | None = Field(description="The tag whose values take turns; null: none.")
    pending: int = Field(description="Tasks waiting to start.")
    running: int = Field(description="Tasks holding a slot.")
    rejected: int = Field(description="Tasks refused because the queue was full, since start.")
    finished: int = Field(description="Tasks finished since start.")
    avg_duration: float | None = Field(
        description="Moving average of recent durations in seconds; null before the first."
    )
    full: bool = Field(description="Whether a new task would be refused now.")

    @classmethod
    def of(cls, stats: QueueStats) -> QueueOut:
        return cls.model_validate(stats.to_dict())


class QueueUpdateIn(BaseModel):
    """New limits for a queue; a field left out keeps its value, ``null`` removes the limit."""

    model_config = ConfigDict(extra="forbid")

    concurrency: StrictInt | None = Field(default=None, ge=1)
    max_size: StrictInt | None = Field(default=None, ge=1)
    fair_by: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
