"""A task function for worker processes, imported by name (the test puts this folder on
``sys.path``, which workers inherit)."""

from __future__ import annotations

from pathlib import Path


def fail_first_time(marker: str) -> str:
    """Fails on the first call and succeeds afterwards; ``marker`` remembers across processes."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise ConnectionError("first attempt fails")
    return "done"
