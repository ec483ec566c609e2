"""What kind of callable a task function is, and how to name it in error messages."""

from __future__ import annotations

import functools
import inspect
from typing import Any


def unwrap_partial(func: Any) -> Any:
    """The callable inside any number of ``functools.partial`` layers."""
    while isinstance(func, functools.partial):
        func = func.func
    return func


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` returns a coroutine.

    True for coroutine functions and methods, ``functools.partial`` objects around them, and
    instances whose ``__call__`` is a coroutine function.
    """
    target = unwrap_partial(func)
    if inspect.iscoroutinefunction(target):
        return True
    if isinstance(target, type):
        # Calling a class builds an instance, whatever its instances' __call__ does.
        return False
    return inspect.iscoroutinefunction(getattr(target, "__call__", None))  # noqa: B004


def callable_name(func: Any) -> str:
    """``module.qualname`` of ``func`` (of the wrapped callable for partials)."""
    target = unwrap_partial(func)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module and module != "builtins" else qualname
