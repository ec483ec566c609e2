"""Executors: run task functions on the event loop, in threads, or in worker processes."""

from __future__ import annotations

from fastapi_taskflow.adapters.executors.async_executor import AsyncExecutor
from fastapi_taskflow.adapters.executors.process_executor import ProcessExecutor, WorkerTraceback
from fastapi_taskflow.adapters.executors.thread_executor import ThreadExecutor

__all__ = ["AsyncExecutor", "ProcessExecutor", "ThreadExecutor", "WorkerTraceback"]
