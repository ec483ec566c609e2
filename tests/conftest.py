"""Shared pytest fixtures for the fastapi-taskflow test suite.

Database servers for the contract and integration tests come from, in order:

1. ``TASKFLOW_TEST_POSTGRES_URL``, ``TASKFLOW_TEST_MYSQL_URL``, ``TASKFLOW_TEST_REDIS_URL``;
2. a container started with testcontainers, where a Docker engine is reachable;
3. otherwise the test is skipped with the reason, or fails when ``TASKFLOW_REQUIRE_SERVICES=1``
   (CI sets it, so real-database tests always run there).

Each test session works in a database of its own (created on first use, dropped at the end),
so two sessions against one server never see each other's tables.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

REQUIRE_SERVICES = os.environ.get("TASKFLOW_REQUIRE_SERVICES") == "1"

#: Environment variable and testcontainers module of each server.
_SERVICES = {
    "postgres": ("TASKFLOW_TEST_POSTGRES_URL", "postgres"),
    "mysql": ("TASKFLOW_TEST_MYSQL_URL", "mysql"),
    "redis": ("TASKFLOW_TEST_REDIS_URL", "redis"),
}


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (TASKFLOW_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


def _docker_reachable() -> bool:
    """Whether a Docker engine answers (checked with a plain socket, so a missing engine
    costs no client objects that would warn when collected)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        if not os.path.exists(path):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(path)
            except OSError:
                return False
        return True
    return True


def _container_url(name: str, stack: list[Callable[[], object]]) -> str | None:
    """Start a throw-away server in Docker; ``None`` when Docker is not available."""
    if not _docker_reachable():
        return None
    try:
        from docker.errors import DockerException
    except ImportError:
        return None
    try:
        if name == "postgres":
            from testcontainers.community.postgres import PostgresContainer

            pg = PostgresContainer("postgres:16-alpine", driver=None).start()
            stack.append(pg.stop)
            return str(pg.get_connection_url())
        if name == "mysql":
            from testcontainers.community.mysql import MySqlContainer

            my = MySqlContainer("mariadb:10.11").start()
            stack.append(my.stop)
            return str(my.get_connection_url()).replace("mysql+pymysql://", "mysql://")
        from testcontainers.community.redis import RedisContainer

        rd = RedisContainer("redis:7-alpine").start()
        stack.append(rd.stop)
        host, port = rd.get_container_host_ip(), rd.get_exposed_port(6379)
        return f"redis://{host}:{port}/0"
    except (DockerException, ImportError, OSError):
        return None


class _Servers:
    """Server URLs found so far (``None``: looked for, unavailable) and how to stop them."""

    def __init__(self) -> None:
        self.found: dict[str, str | None] = {}
        self.teardown: list[Callable[[], object]] = []

    def url(self, name: str) -> str:
        variable, _ = _SERVICES[name]
        if name not in self.found:
            self.found[name] = os.environ.get(variable) or _container_url(name, self.teardown)
        url = self.found[name]
        if url is None:
            _unavailable(f"no {name} server: set {variable} or make a Docker engine reachable")
        assert url is not None
        return url


@pytest.fixture(scope="session")
def _servers() -> Iterator[_Servers]:
    servers = _Servers()
    yield servers
    while servers.teardown:
        servers.teardown.pop()()


def _sync_admin_url(url: URL) -> URL:
    backend = url.get_backend_name()
    driver = "psycopg" if backend == "postgresql" else "pymysql"
    return url.set(drivername=f"{backend}+{driver}")


@pytest.fixture(scope="session")
def sql_database(_servers: _Servers) -> Iterator[Callable[[str], str]]:
    """Makes a session-private database on a server; dropped when the session ends."""
    servers = _servers
    created: list[tuple[URL, str]] = []

    def make(name: str) -> str:
        server = make_url(servers.url(name).replace("postgres://", "postgresql://"))
        database = f"taskflow_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_sync_admin_url(server), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {database}"))
        finally:
            admin.dispose()
        created.append((server, database))
        return server.set(database=database).render_as_string(hide_password=False)

    yield make
    for server, database in created:
        admin = create_engine(_sync_admin_url(server), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                if server.get_backend_name() == "postgresql":
                    connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                else:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        finally:
            admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(sql_database: Callable[[str], str]) -> str:
    """URL of an empty PostgreSQL database for this session (no driver named)."""
    return sql_database("postgres")


@pytest.fixture(scope="session")
def mysql_url(sql_database: Callable[[str], str]) -> str:
    """URL of an empty MySQL/MariaDB database for this session (no driver named)."""
    return sql_database("mysql")


@pytest.fixture(scope="session")
def redis_url(_servers: _Servers) -> str:
    """URL of a Redis database; tests keep apart by key prefix (see ``redis_prefix``)."""
    return _servers.url("redis")


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"taskflow-test:{uuid.uuid4().hex[:12]}"


def _drop_task_tables(url: str) -> None:
    """Remove every table of ours (in any schema version) from the database at ``url``."""
    parsed = make_url(url)
    engine = create_engine(_sync_admin_url(parsed))
    try:
        with engine.begin() as connection:
            for name in reversed(inspect(connection).get_table_names()):
                if name.startswith("taskflow_"):
                    connection.execute(text(f"DROP TABLE {name}"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def drop_task_tables() -> Callable[[str], None]:
    """Removes every table of ours (in any schema version) from the database at a URL."""
    return _drop_task_tables
