"""Lock managers."""

from __future__ import annotations

from fastapi_taskflow.adapters.locks.memory_locks import MemoryLockManager

__all__ = ["MemoryLockManager"]
