"""Observers that receive task log lines and lifecycle events: file, stdout, memory and a chain."""

from __future__ import annotations

from fastapi_taskflow.adapters.observers.file_logger import FileLogger
from fastapi_taskflow.adapters.observers.in_memory_logger import InMemoryLogger
from fastapi_taskflow.adapters.observers.logger_chain import LoggerChain
from fastapi_taskflow.adapters.observers.stdout_logger import StdoutLogger

__all__ = ["FileLogger", "InMemoryLogger", "LoggerChain", "StdoutLogger"]
