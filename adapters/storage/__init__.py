"""Task storage adapters: in memory, and SQL databases through SQLAlchemy."""

from __future__ import annotations

from fastapi_taskflow.adapters.storage.memory_store import MemoryTaskStorage
from fastapi_taskflow.adapters.storage.sqlalchemy_store import SqlAlchemyTaskStorage

__all__ = ["MemoryTaskStorage", "SqlAlchemyTaskStorage"]
