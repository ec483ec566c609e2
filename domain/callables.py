"""What kind of callable a task function is: the rule every layer uses to pick an executor."""

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
