"""Task arguments as JSON can carry them, for the API and the audit log."""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` where JSON can hold it, its ``repr`` otherwise (arguments may be any object)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return repr(value)
