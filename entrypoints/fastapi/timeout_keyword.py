"""Who gets ``add_task(..., timeout=...)``: the library, or a function with a ``timeout`` of
its own."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def takes_timeout(func: Callable[..., Any]) -> bool:
    """Whether ``func`` declares a parameter named ``timeout`` that a keyword can fill."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins and other callables without a signature
        return False
    parameter = parameters.get("timeout")
    return parameter is not None and parameter.kind in _NAMED


def route_timeout(
    func: Callable[..., Any], timeout: float | None, kwargs: dict[str, Any]
) -> float | None:
    """The time limit to apply, after giving ``timeout`` to ``func`` when it is its own.

    ``timeout`` only became an option of ``add_task()`` in 1.0. Code written for earlier
    releases passes it to functions that take a ``timeout`` parameter themselves, and must
    keep doing so unchanged: for such a function the keyword is an argument (put into
    ``kwargs``), and the time limit comes from the decorator alone.
    """
    if timeout is not None and takes_timeout(func):
        kwargs["timeout"] = timeout
        return None
    return timeout
