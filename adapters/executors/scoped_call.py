"""Calling a plain function with the task's scope installed, for threads and worker processes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi_taskflow.adapters.executors.callables import callable_name
from fastapi_taskflow.ports.execution import TaskScope, current_task_scope


def call_in_scope(
    scope: TaskScope,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """Call ``func`` with ``current_task_scope`` set to ``scope``.

    Must run inside a throwaway ``contextvars.Context`` (``context.run(call_in_scope, ...)``):
    the scope is set and never reset, so it dies with that context.

    ``SystemExit``, ``KeyboardInterrupt``, other exceptions outside ``Exception``, and
    ``StopIteration`` become a ``RuntimeError`` (with the original as ``__cause__``): re-raised
    in the awaiting coroutine they would stop the event loop or look like a cancellation of the
    caller, and an asyncio future refuses ``StopIteration`` outright.
    """
    current_task_scope.set(scope)
    try:
        return func(*args, **kwargs)
    except StopIteration as exc:
        raise RuntimeError(f"task function {callable_name(func)} raised StopIteration") from exc
    except Exception:
        raise
    except BaseException as exc:
        raise RuntimeError(
            f"task function {callable_name(func)} raised {type(exc).__name__}({exc})"
        ) from exc
