"""Requests generated from the admin API's OpenAPI schema never meet a server error, and every
answer matches the schema: a real app under uvicorn, on a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from .uvicorn_server import Server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    server = Server(
        f"sqlite:///{folder / 'tasks.db'}",
        folder / "server.log",
        app="taskflow_admin_fuzz_app:app",
    )
    try:
        server.wait_until_answering()
        yield schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    finally:
        server.terminate()
        assert "Traceback" not in server.output(), server.output()


#: Generated requests per operation.
EXAMPLES = 60


def test_the_admin_api_answers_every_request_within_its_schema(
    admin_schema: schemathesis.BaseSchema,
) -> None:
    failures: list[str] = []
    operations = 0
    for result in admin_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
            )

        try:
            exercise()
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 11, f"only {operations} operations in the schema"
    assert not failures, "\n\n".join(failures)
