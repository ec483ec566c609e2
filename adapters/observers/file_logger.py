"""An observer that appends task log lines to a plain text file."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from fastapi_taskflow.adapters.observers.file_handlers import open_file_handler
from fastapi_taskflow.adapters.observers.line_logger import LineLogger

_RECORD_NAME = "fastapi_taskflow.file_logger"


class FileLogger(LineLogger):
    """Writes task log lines (and optionally lifecycle transitions) to a text file.

    One event per line, ready for ``tail -f``, ``grep`` and log shippers::

        [3f2a…] [send_email] 2026-01-01T12:00:00.000+00:00 sending to a@example.com
        [3f2a…] [send_email] 2026-01-01T12:00:00.120+00:00 -- SUCCESS duration=0.12s

    The file is opened (and created) at construction. Lines go straight to the file handler,
    never through the root logger, and each one is flushed as it is written. Safe to use from
    several threads.

    Args:
        path: The log file.
        max_bytes: Size at which the file is rotated in ``rotate`` mode (10 MB by default);
            0 disables rotation. Ignored in ``watched`` mode.
        backup_count: Rotated files kept (``tasks.log.1`` … ``tasks.log.N``) in ``rotate`` mode;
            0 disables rotation.
        mode: ``"rotate"`` rotates by size itself, for a single process. ``"watched"`` leaves
            rotation to an external tool such as logrotate and reopens the file after it was
            moved; use it when several processes write the same file.
        log_lifecycle: Also write a line for every status transition.
        min_level: The least severe log level written.

    Raises:
        ValueError: ``mode`` or ``min_level`` is unknown, or a size is negative.
        OSError: The file cannot be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 10_485_760,
        backup_count: int = 5,
        mode: str = "rotate",
        log_lifecycle: bool = False,
        min_level: str = "debug",
    ) -> None:
        super().__init__(log_lifecycle=log_lifecycle, min_level=min_level)
        self._path = Path(os.path.abspath(os.fspath(path)))
        self._mode = mode
        self._handler = open_file_handler(
            str(self._path), mode=mode, max_bytes=max_bytes, backup_count=backup_count
        )
        # Guards the closed flag together with the write: a line racing close() must not
        # reopen a file nobody will close again.
        self._lock = threading.Lock()
        self._closed = False

    @property
    def path(self) -> Path:
        """The absolute path of the log file."""
        return self._path

    @property
    def mode(self) -> str:
        """``"rotate"`` or ``"watched"``."""
        return self._mode

    async def close(self) -> None:
        """Flush and close the file. Events arriving afterwards are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._handler.close()

    def _write_line(self, line: str) -> None:
        record = logging.LogRecord(_RECORD_NAME, logging.INFO, "", 0, line, None, None)
        with self._lock:
            if not self._closed:
                self._handler.handle(record)

    def __repr__(self) -> str:
        return f"FileLogger({str(self._path)!r}, mode={self._mode!r})"
