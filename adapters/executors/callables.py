"""What kind of callable a task function is, and how to name it in error messages."""

from __future__ import annotations

from typing import Any

from fastapi_taskflow.domain.callables import is_async_callable, unwrap_partial

__all__ = ["callable_name", "is_async_callable", "unwrap_partial"]


def callable_name(func: Any) -> str:
    """``module.qualname`` of ``func`` (of the wrapped callable for partials)."""
    target = unwrap_partial(func)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module and module != "builtins" else qualname
