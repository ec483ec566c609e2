"""One command's connection to the store: its settings (from the options, the environment
and ``--app``) and the composition root wired for a process that runs no tasks.

The session opens storage and the write-behind buffer, and nothing else: no heartbeat, no
recovery sweep, no scheduler, no executor. Use cases reach it through the same container
providers the app uses (``queries``, ``operator``), with two differences: retries hand new
tasks off instead of starting them (``run_here=False``: stored without an owner, so the next
recovery sweep of a live instance claims and runs them), and changes are not broadcast
(other instances see them in the store).
"""

from __future__ import annotations

import argparse
import getpass
import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import attrs
from dependency_injector import providers
from sqlalchemy.engine import make_url

from fastapi_taskflow.adapters.events.local_broadcast import LocalBroadcast
from fastapi_taskflow.application.argument_codec import ArgumentCodec
from fastapi_taskflow.application.audit_log import AuditLog
from fastapi_taskflow.application.operator_actions import OperatorActions
from fastapi_taskflow.application.queries import TaskQueries
from fastapi_taskflow.application.write_behind import WriteBehind
from fastapi_taskflow.domain.limits import check_length
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.entrypoints.cli.app_loading import load_manager
from fastapi_taskflow.entrypoints.cli.arguments import option
from fastapi_taskflow.entrypoints.cli.errors import Refused, UsageError
from fastapi_taskflow.entrypoints.container import TaskflowContainer
from fastapi_taskflow.entrypoints.fastapi.task_manager import TaskManager
from fastapi_taskflow.entrypoints.storage_selection import STORAGE_URL_ENV, storage_kind
from fastapi_taskflow.ports.clock import Clock
from fastapi_taskflow.ports.storage import TaskStorage

#: Environment variable naming ``--app`` when the option is not given.
APP_ENV = "TASKFLOW_APP"
#: Environment variable holding ``--encrypt-key`` when the option is not given.
ENCRYPT_KEY_ENV = "TASKFLOW_ENCRYPT_KEY"

_SHARED_STORES = "sqlite:///path.db, postgresql://..., mysql://... or redis://..."


@attrs.frozen(kw_only=True)
class Settings:
    """What a command works with, resolved before anything connects."""

    url: str
    #: The app's manager (``--app``), when given.
    manager: TaskManager | None
    #: The Fernet key(s) known: from ``--encrypt-key``, the app, or the environment.
    encrypt_key: bytes | str | Sequence[bytes | str] | None
    actor: str
    show_args: bool


def app_spec(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The ``--app`` value, or ``$TASKFLOW_APP``."""
    spec: str | None = option(args, "app") or environ.get(APP_ENV) or None
    return spec


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Settings from the command line, the environment and the app.

    Precedence, as the app itself resolves them: the option, then what ``--app``'s manager
    uses (which already took the environment into account), then the environment.

    Raises:
        UsageError: no usable storage URL, a bad ``--actor``, or a bad ``--app``.
        Refused: importing ``--app`` failed.
    """
    spec = app_spec(args, environ)
    manager = load_manager(spec) if spec else None
    app_config: dict[str, Any] = manager.container.config() if manager is not None else {}
    url: str | None = option(args, "url")
    if url is None and manager is not None:
        url = app_config["storage_url"]
        if storage_kind(url) == "memory":
            raise UsageError(
                f"--app {spec} stores tasks in memory://, which only the app's own process "
                f"can see; pass --url with the shared store ({_SHARED_STORES})"
            )
    url = url or environ.get(STORAGE_URL_ENV) or None
    if url is None:
        raise UsageError(
            f"no storage given: pass --url URL, set {STORAGE_URL_ENV}, or name the app with "
            "--app module:attribute"
        )
    check_shared(url)
    key = option(args, "encrypt_key") or app_config.get("encrypt_args_key")
    key = key or environ.get(ENCRYPT_KEY_ENV) or None
    if isinstance(key, str):
        key = [part.strip() for part in key.split(",") if part.strip()] or None
    return Settings(
        url=url,
        manager=manager,
        encrypt_key=key,
        actor=acting_user(option(args, "actor")),
        show_args=option(args, "show_args"),
    )


def check_shared(url: str) -> None:
    """Refuse a URL another process cannot share, or a SQLite file that does not exist (a
    typo would otherwise create an empty database).

    Raises:
        UsageError: as the message says.
    """
    try:
        kind = storage_kind(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if kind == "memory":
        raise UsageError(
            "memory:// storage lives inside the app's process, so no other process can see "
            f"its tasks; point --url at the app's shared store ({_SHARED_STORES})"
        )
    if kind != "sqlite":
        return
    try:
        database = make_url(url).database
    except Exception as exc:  # sqlalchemy's ArgumentError, or a ValueError of the URL parser
        raise UsageError(f"invalid SQLite URL {url!r}: {exc}") from None
    if not database or database == ":memory:":
        raise UsageError(
            f"{url} is an in-memory SQLite database, which no other process can see; name "
            "the app's database file, e.g. sqlite:///tasks.db"
        )
    if not database.startswith("file:") and not os.path.exists(database):
        raise UsageError(
            f"no SQLite database at {os.path.abspath(database)}; run the command where the "
            "app runs, or give the file's path (sqlite:////absolute/path.db)"
        )


def acting_user(given: str | None) -> str:
    """``--actor``, else ``cli:<OS user>``: who the audit log names."""
    if given is not None:
        if not given.strip():
            raise UsageError("--actor must not be empty")
        try:
            check_length("--actor", given)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in the environment or the password database
        return "cli"


def redacted(url: str) -> str:
    """``url`` with its password masked, for messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    return url.replace(f":{password}@", ":***@", 1)


def new_cli_instance_id() -> str:
    """The id this command claims tasks under (when cancelling): never a live app's."""
    return f"cli-{uuid.uuid4().hex}"


def build_container(settings: Settings) -> TaskflowContainer:
    """The composition root, configured as the app is, wired for a process that runs no
    tasks."""
    manager = settings.manager
    if manager is not None:
        base: dict[str, Any] = dict(manager.container.config())
        if base.get("storage_url") != settings.url:
            base["storage_options"] = {}  # a backend's Redis prefix belongs to its own URL
    else:
        # The configuration a plain TaskManager would have: every key the container reads.
        base = dict(_template(settings.url).container.config())
    base.update(
        storage_url=settings.url,
        encrypt_args_key=settings.encrypt_key,
        # The command line records no observer events: those belong to the instance that
        # runs the task.
        loggers=[],
        log_file=None,
    )
    container = TaskflowContainer()
    container.config.from_dict(base)
    container.instance_id.override(providers.Object(new_cli_instance_id()))
    container.broadcast.override(providers.Object(LocalBroadcast()))
    container.retries.add_kwargs(run_here=False)
    if manager is not None:
        container.registry.override(providers.Object(manager.registry))
    return container


def _template(url: str) -> TaskManager:
    try:
        return TaskManager(storage_url=url)
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None


@attrs.frozen(kw_only=True)
class Arguments:
    """A task's arguments as the command may show them; ``hidden`` says why they are not."""

    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    hidden: str | None = None


class Session:
    """The store, opened for one command, and the use cases over it."""

    def __init__(self, settings: Settings, container: TaskflowContainer) -> None:
        self.settings = settings
        self.container = container
        self.storage: TaskStorage = container.storage()
        self.clock: Clock = container.clock()
        self.queries: TaskQueries = container.queries()
        self.instance_id: str = container.instance_id()

    @property
    def manager(self) -> TaskManager | None:
        return self.settings.manager

    @property
    def actor(self) -> str:
        return self.settings.actor

    @property
    def operator(self) -> OperatorActions:
        """Audited commands (retry, bulk and window retries, delete history)."""
        operator: OperatorActions = self.container.operator()
        return operator

    @property
    def audit(self) -> AuditLog:
        return self.operator.audit

    @property
    def sweep_period(self) -> float:
        """Seconds between recovery sweeps of the app's instances (a third of the lease)."""
        lease_ttl = self.container.config.lease_ttl() or 30.0
        return float(lease_ttl) / 3

    def arguments(self, record: TaskRecord) -> Arguments:
        """The arguments to show for ``record``: only with ``--show-args``; decrypted when
        a key is known."""
        if not self.settings.show_args:
            return Arguments(hidden="hidden; add --show-args to show them")
        if record.encrypted_payload is None:
            return Arguments(args=list(record.args), kwargs=dict(record.kwargs))
        if not self.settings.encrypt_key:
            return Arguments(
                hidden=f"encrypted; give the app's key with --encrypt-key or {ENCRYPT_KEY_ENV} "
                "(or --app) to show them"
            )
        try:
            args, kwargs = self._codec().arguments(record)
        except UsageError:
            raise
        except Exception:
            return Arguments(hidden="encrypted with a key that was not given")
        return Arguments(args=list(args), kwargs=kwargs)

    def _codec(self) -> ArgumentCodec:
        try:
            codec: ArgumentCodec = self.container.codec()
        except (ValueError, TypeError, ImportError) as exc:
            raise UsageError(f"--encrypt-key: {exc}") from None
        return codec


@asynccontextmanager
async def open_session(settings: Settings) -> AsyncIterator[Session]:
    """Open the store for one command; on the way out, write what the command changed and
    close it.

    Raises:
        Refused: the store cannot be opened, or changes could not be written.
    """
    container = build_container(settings)
    try:
        storage: TaskStorage = container.storage()
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    try:
        await storage.open()
    except Exception as exc:
        raise Refused(f"cannot open storage {redacted(settings.url)}: {_reason(exc)}") from None
    writer: WriteBehind = container.writer()
    writer.start()
    try:
        yield Session(settings, container)
    finally:
        stored = await writer.stop()
        await storage.close()
    if not stored:
        raise Refused(
            f"{writer.backlog} task changes could not be written to {redacted(settings.url)}"
        )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
