"""Finding the app's ``TaskManager`` from ``--app module:attribute``.

The command line needs the app's manager to retry tasks: a retry looks the task's function
up by name among the registered ones, exactly as the instance that runs it will. The
manager also tells which storage and encryption key the app uses, and its schedules.
Importing the module runs it as a server's import would; nothing is started.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

from fastapi_taskflow.entrypoints.cli.errors import Refused, UsageError
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager


def load_manager(spec: str) -> TaskManager:
    """The ``TaskManager`` named by ``spec``: ``module:attribute`` (a dotted path inside the
    module is fine), or ``module`` alone when it holds exactly one manager. An attribute that
    is not a manager (a FastAPI app, say) is accepted when its module holds exactly one.

    Raises:
        UsageError: the module or attribute does not exist, or no single manager is found.
        Refused: importing the module failed.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name:
        raise UsageError(f"--app expects module:attribute, e.g. main:task_manager, got {spec!r}")
    module = _import(module_name, spec)
    if not attribute:
        return _the_manager_of(module, spec)
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UsageError(
                f"--app {spec}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    if isinstance(target, TaskManager):
        return target
    try:
        return _the_manager_of(module, spec)
    except UsageError:
        raise UsageError(
            f"--app {spec} is a {type(target).__name__}, not a TaskManager; name the "
            f"TaskManager instead, e.g. {module_name}:task_manager"
        ) from None


def _import(module_name: str, spec: str) -> ModuleType:
    # As uvicorn does: the app is imported relative to where the command runs.
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (
            exc.name == module_name or module_name.startswith(f"{exc.name}.")
        ):
            raise UsageError(
                f"--app {spec}: no module named {module_name!r} (looked in {here} and sys.path)"
            ) from None
        raise Refused(f"--app {spec}: importing {module_name!r} failed: {exc}") from None
    except Exception as exc:
        raise Refused(
            f"--app {spec}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None


def _the_manager_of(module: ModuleType, spec: str) -> TaskManager:
    found = {id(value): value for value in vars(module).values() if isinstance(value, TaskManager)}
    if len(found) == 1:
        return next(iter(found.values()))
    names = sorted(name for name, value in vars(module).items() if isinstance(value, TaskManager))
    if not names:
        raise UsageError(f"--app {spec}: module {module.__name__!r} holds no TaskManager")
    raise UsageError(
        f"--app {spec}: module {module.__name__!r} holds several TaskManagers "
        f"({', '.join(names)}); name one, e.g. {module.__name__}:{names[0]}"
    )
