"""Event streams for live views."""

from __future__ import annotations

from fastapi_taskflow.adapters.events.memory_stream import MemoryEventStream

__all__ = ["MemoryEventStream"]
