"""The stdlib file handlers behind FileLogger, made to report write failures to their caller."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler, WatchedFileHandler

#: ``rotate``: size-based rotation done by this process. ``watched``: an external tool such as
#: logrotate moves the file, and it is reopened when that happens.
FILE_LOG_MODES: tuple[str, ...] = ("rotate", "watched")


class _RaisingHandler(logging.Handler):
    def handleError(self, record: logging.LogRecord) -> None:
        # The stdlib prints write failures to stderr and carries on; raising instead lets
        # LoggerChain log the failure under the observer's name, like any other observer error.
        error = sys.exc_info()[1]
        if error is None:
            super().handleError(record)
            return
        raise error


class _RotatingFile(_RaisingHandler, RotatingFileHandler):
    pass


class _WatchedFile(_RaisingHandler, WatchedFileHandler):
    pass


def open_file_handler(
    filename: str, *, mode: str, max_bytes: int, backup_count: int
) -> logging.FileHandler:
    """Open ``filename`` for appending through the handler that implements ``mode``.

    Args:
        filename: Absolute path of the log file.
        mode: One of :data:`FILE_LOG_MODES`.
        max_bytes: Size that triggers a rotation in ``rotate`` mode; 0 never rotates.
        backup_count: Rotated files kept in ``rotate`` mode; 0 never rotates.

    Raises:
        ValueError: ``mode`` is unknown or a size is negative.
        OSError: The file cannot be opened.
    """
    if mode not in FILE_LOG_MODES:
        expected = ", ".join(FILE_LOG_MODES)
        raise ValueError(f"unknown log file mode {mode!r}; expected one of {expected}")
    if max_bytes < 0 or backup_count < 0:
        raise ValueError("max_bytes and backup_count must not be negative")
    handler: logging.FileHandler
    if mode == "rotate":
        # Without backups the stdlib would close and reopen the file on every line once it is
        # full; the documented meaning of a zero count is "never rotate", so say so directly.
        handler = _RotatingFile(
            filename,
            maxBytes=max_bytes if backup_count > 0 else 0,
            backupCount=backup_count,
            encoding="utf-8",
        )
    else:
        handler = _WatchedFile(filename, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler
