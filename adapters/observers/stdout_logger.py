"""An observer that prints task log lines to standard output."""

from __future__ import annotations

import sys
import threading

from fastapi_taskflow.adapters.observers.line_logger import LineLogger


class StdoutLogger(LineLogger):
    """Prints task log lines (and optionally lifecycle transitions) to ``sys.stdout``.

    Same line format as :class:`FileLogger`; each line is flushed at once so container log
    agents see it immediately. ``sys.stdout`` is looked up for every line, so redirections made
    after construction are honoured.

    Args:
        log_lifecycle: Also print a line for every status transition.
        min_level: The least severe log level printed.

    Raises:
        ValueError: ``min_level`` is unknown.
    """

    def __init__(self, *, log_lifecycle: bool = False, min_level: str = "info") -> None:
        super().__init__(log_lifecycle=log_lifecycle, min_level=min_level)
        # Lines from several threads must not interleave inside one another.
        self._lock = threading.Lock()

    def _write_line(self, line: str) -> None:
        with self._lock:
            stream = sys.stdout
            stream.write(line + "\n")
            stream.flush()
