"""Engine creation for the SQL store: accepted URLs, missing drivers and pool settings.

Nothing here connects: engines are created and disposed without a server.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from fastapi_taskflow.adapters.storage.sqlalchemy_engine import (
    MYSQL_POOL_RECYCLE,
    POOL_SIZE,
    POOL_TIMEOUT,
    EngineSetup,
    create_engine,
    normalize_url,
    pool_options,
)

POSTGRES = 'pip install "fastapi-taskflow[postgres]"'
MYSQL = 'pip install "fastapi-taskflow[mysql]"'

#: A host nobody answers on (TEST-NET-1); engines are never asked to connect.
HOST = "192.0.2.1"


@pytest.fixture
async def make_engine() -> AsyncIterator[Callable[..., EngineSetup]]:
    """``create_engine``, disposing of every engine made once the test is over."""
    made: list[EngineSetup] = []

    def make(url: str, engine_options: Mapping[str, Any] | None = None) -> EngineSetup:
        setup = create_engine(url, engine_options=engine_options)
        made.append(setup)
        return setup

    yield make
    for setup in made:
        await setup.engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgres+asyncpg://u@{HOST}/db", f"postgresql+asyncpg://u@{HOST}/db"),
        (f"mariadb://u@{HOST}/db", f"mariadb+asyncmy://u@{HOST}/db"),
        (f"mariadb+aiomysql://u@{HOST}/db", f"mariadb+aiomysql://u@{HOST}/db"),
        (f"mysql+asyncmy://u@{HOST}/db", f"mysql+asyncmy://u@{HOST}/db"),
    ],
)
def test_accepted_urls_keep_or_get_an_async_driver(url: str, expected: str) -> None:
    assert normalize_url(url) == make_url(expected)


@pytest.mark.parametrize(
    "url",
    [
        f"oracle://u@{HOST}/db",
        f"mssql+aioodbc://u@{HOST}/db",
        f"redis://{HOST}/0",
    ],
)
def test_an_unknown_database_is_refused_with_the_accepted_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported SQL storage URL.*expected sqlite:///"):
        normalize_url(url)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg2://u@{HOST}/db",
        f"mysql+pymysql://u@{HOST}/db",
        "sqlite+pysqlite:///tasks.db",
    ],
)
def test_a_driver_that_is_not_async_is_refused_with_the_accepted_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported driver .*expected sqlite:///"):
        create_engine(url)


def test_a_refused_url_does_not_show_its_password() -> None:
    with pytest.raises(ValueError) as refused:
        normalize_url(f"oracle://u:hunter2@{HOST}/db")

    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "module", "message"),
    [
        (f"postgresql://u@{HOST}/db", "asyncpg", f"PostgreSQL storage needs {{}}: {POSTGRES}"),
        (
            f"postgresql+psycopg://u@{HOST}/db",
            "psycopg",
            f"PostgreSQL storage needs {{}}: {POSTGRES}",
        ),
        (f"mysql://u@{HOST}/db", "asyncmy", f"MySQL storage needs {{}}: {MYSQL}"),
        (
            f"mysql+aiomysql://u@{HOST}/db",
            "aiomysql",
            'MySQL storage needs {}: pip install aiomysql "PyMySQL<1.2", or use mysql+asyncmy://',
        ),
        (f"mariadb://u@{HOST}/db", "asyncmy", f"MariaDB storage needs {{}}: {MYSQL}"),
        ("sqlite:///tasks.db", "aiosqlite", "SQLite storage needs {}: pip install aiosqlite"),
    ],
)
def test_a_missing_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, message: str
) -> None:
    # None in sys.modules makes every import of the module fail, as if it were not installed.
    monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(ImportError) as missing:
        create_engine(url)

    assert str(missing.value) == message.format(f"the {module} driver")
    assert missing.value.name == module


async def test_server_engines_get_a_pinging_pool_of_bounded_size(
    make_engine: Callable[..., EngineSetup],
) -> None:
    for url in (f"postgresql://u@{HOST}/db", f"mysql://u@{HOST}/db"):
        pool = make_engine(url).engine.sync_engine.pool

        assert isinstance(pool, QueuePool)
        assert pool.size() == POOL_SIZE
        assert pool.timeout() == POOL_TIMEOUT


def test_mysql_connections_are_replaced_before_a_five_minute_idle_timeout() -> None:
    for backend in ("mysql", "mariadb"):
        options = pool_options(backend)

        assert options["pool_recycle"] == MYSQL_POOL_RECYCLE < 300
        assert options["pool_pre_ping"] is True


async def test_engine_options_replace_the_defaults(
    make_engine: Callable[..., EngineSetup],
) -> None:
    setup = make_engine(
        f"postgresql://u@{HOST}/db", engine_options={"pool_size": 2, "pool_timeout": 1.5}
    )
    pool = setup.engine.sync_engine.pool

    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool.timeout()) == (2, 1.5)


async def test_aiomysql_that_cannot_send_bytes_is_refused_with_the_remedy(
    monkeypatch: pytest.MonkeyPatch, make_engine: Callable[..., EngineSetup]
) -> None:
    connection = pytest.importorskip("aiomysql.connection")
    url = f"mysql+aiomysql://u@{HOST}/db"

    # What aiomysql 0.3.2 finds in PyMySQL 1.2.3 and later in place of the function.
    monkeypatch.setattr(connection, "escape_bytes_prefixed", "a placeholder", raising=False)
    with pytest.raises(ImportError, match=r'pip install "PyMySQL<1\.2"'):
        create_engine(url)

    monkeypatch.setattr(connection, "escape_bytes_prefixed", lambda value: value, raising=False)
    assert make_engine(url).engine.dialect.driver == "aiomysql"
