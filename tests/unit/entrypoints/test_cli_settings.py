"""Where the command line finds its store, app, key and actor, and how its container is wired
for a process that runs no tasks."""

from __future__ import annotations

import getpass
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fastapi_taskflow.adapters.events.local_broadcast import LocalBroadcast
from fastapi_taskflow.entrypoints.cli.arguments import parse
from fastapi_taskflow.entrypoints.cli.errors import Refused, UsageError
from fastapi_taskflow.entrypoints.cli.session import (
    Settings,
    acting_user,
    build_container,
    redacted,
    resolve,
)


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "tasks.db"
    path.touch()
    return f"sqlite:///{path}"


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Writes a module into the current directory; returns its name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write(source: str) -> str:
        name = f"cli_settings_app_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


def settings(*argv: str, **env: str) -> Settings:
    return resolve(parse(["list", *argv]), env)


def test_the_url_comes_from_the_option_else_the_environment(database: str, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.touch()
    assert settings("--url", database, TASKFLOW_STORAGE_URL=f"sqlite:///{other}").url == database
    assert settings(TASKFLOW_STORAGE_URL=database).url == database
    with pytest.raises(UsageError, match="no storage given: pass --url URL, set TASKFLOW_STO"):
        settings()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory://", "memory:// storage lives inside the app's process"),
        ("sqlite://", "in-memory SQLite database"),
        ("sqlite:///:memory:", "in-memory SQLite database"),
        ("sqlite:///nowhere/tasks.db", "no SQLite database at "),
        ("mongodb://db/tasks", "unknown storage URL 'mongodb://db/tasks'"),
    ],
)
def test_stores_no_other_process_can_share_are_refused(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        settings("--url", url)


def test_server_urls_are_not_checked_before_connecting() -> None:
    assert settings("--url", "postgresql://app@db/tasks").url == "postgresql://app@db/tasks"
    assert settings("--url", "redis://cache:6379/0?prefix=x").url.startswith("redis://")


def test_the_app_gives_its_url_key_and_registry(
    app_module: Callable[[str], str], database: str
) -> None:
    fernet = pytest.importorskip("cryptography.fernet")
    keys = [fernet.Fernet.generate_key().decode() for _ in range(2)]
    name = app_module(
        "from fastapi_taskflow import TaskManager\n"
        f"tm = TaskManager(storage_url={database!r}, encrypt_args_key={keys!r})\n"
        "@tm.task()\n"
        "def send():\n"
        "    pass\n"
    )
    found = settings("--app", f"{name}:tm")
    module = sys.modules[name]
    assert found.manager is module.tm
    assert (found.url, found.encrypt_key) == (database, keys)
    # From the environment too, and by module alone when it holds exactly one manager.
    assert settings(TASKFLOW_APP=name).manager is module.tm
    overridden = settings("--app", name, "--encrypt-key", "a, b", TASKFLOW_ENCRYPT_KEY="c")
    assert overridden.encrypt_key == ["a", "b"]
    container = build_container(found)
    assert container.registry() is module.tm.registry
    assert container.instance_id().startswith("cli-")
    assert container.instance_id() != module.tm.service.instance_id
    assert isinstance(container.broadcast(), LocalBroadcast)
    assert container.config.loggers() == [] and container.config.log_file() is None
    assert container.retries()._run_here is False


def test_the_key_comes_from_the_environment_when_neither_option_nor_app_gives_one(
    database: str,
) -> None:
    assert settings("--url", database).encrypt_key is None
    assert settings("--url", database, TASKFLOW_ENCRYPT_KEY="k1,k2").encrypt_key == ["k1", "k2"]


def test_an_app_on_memory_storage_needs_a_url(
    app_module: Callable[[str], str], database: str
) -> None:
    name = app_module("from fastapi_taskflow import TaskManager\ntm = TaskManager()\n")
    with pytest.raises(UsageError, match=r"stores tasks in memory://.*pass --url"):
        settings("--app", f"{name}:tm")
    assert settings("--app", f"{name}:tm", "--url", database).url == database


def test_a_fastapi_app_leads_to_the_manager_of_its_module(
    app_module: Callable[[str], str], database: str
) -> None:
    name = app_module(
        "from fastapi import FastAPI\nfrom fastapi_taskflow import TaskManager\n"
        f"task_manager = TaskManager(storage_url={database!r})\napp = FastAPI()\n"
    )
    assert settings("--app", f"{name}:app").manager is sys.modules[name].task_manager


def test_app_names_that_find_no_single_manager_are_refused(
    app_module: Callable[[str], str], database: str
) -> None:
    two = app_module(
        "from fastapi_taskflow import TaskManager\n"
        f"a = TaskManager(storage_url={database!r})\nb = TaskManager(storage_url={database!r})\n"
        "app = object()\n"
    )
    none = app_module("x = 1\n")
    with pytest.raises(UsageError, match=r"several TaskManagers \(a, b\); name one"):
        settings("--app", two)
    with pytest.raises(UsageError, match=rf"is a object, not a TaskManager.*{two}:task_manager"):
        settings("--app", f"{two}:app")
    with pytest.raises(UsageError, match="holds no TaskManager"):
        settings("--app", none)
    with pytest.raises(UsageError, match="has no attribute 'missing'"):
        settings("--app", f"{none}:missing")
    with pytest.raises(UsageError, match="no module named 'not_a_module_here'"):
        settings("--app", "not_a_module_here:tm")
    with pytest.raises(UsageError, match="--app expects module:attribute"):
        settings("--app", ":tm")


def test_an_app_that_fails_to_import_is_refused_with_its_error(
    app_module: Callable[[str], str],
) -> None:
    crashing = app_module("import os\nos.environ['SURELY_NOT_SET_ANYWHERE_42']\n")
    missing_dependency = app_module("import surely_not_an_installed_package_42\n")
    with pytest.raises(Refused, match=r"importing '.*' failed: KeyError"):
        settings("--app", crashing)
    with pytest.raises(Refused, match="surely_not_an_installed_package_42"):
        settings("--app", missing_dependency)


def test_the_actor_is_the_os_user_unless_given() -> None:
    assert acting_user(None) == f"cli:{getpass.getuser()}"
    assert acting_user("ops-bot") == "ops-bot"
    with pytest.raises(UsageError, match="must not be empty"):
        acting_user("  ")
    with pytest.raises(UsageError, match="at most 255 characters"):
        acting_user("x" * 256)


def test_passwords_never_reach_messages() -> None:
    assert redacted("postgresql://app:s3cret@db/tasks") == "postgresql://app:***@db/tasks"
    assert redacted("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("sqlite:///tasks.db") == "sqlite:///tasks.db"
