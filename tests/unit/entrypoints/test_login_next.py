"""Where a successful sign-in leads: only somewhere under the admin path."""

from __future__ import annotations

import pytest

from fastapi_taskflow.entrypoints.fastapi.login_routes import MAX_NEXT_LENGTH, safe_next

BASE = "/api/tasks"
DASHBOARD = "/api/tasks/dashboard"


@pytest.mark.parametrize(
    "candidate",
    [
        "/api/tasks",
        "/api/tasks/",
        "/api/tasks/dashboard?status=failed&tag=team%3Aops",
        "/api/tasks/some-task-id",
        "/api/tasks/%7Eodd",
    ],
)
def test_paths_under_the_admin_are_kept(candidate: str) -> None:
    assert safe_next(candidate, BASE) == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "https://evil.example/api/tasks",
        "//evil.example/api/tasks",
        "///evil.example/api/tasks",
        "/\\evil.example",
        "\\/evil.example",
        "http:/api/tasks",
        "javascript:alert(1)//",
        "data:text/html,hi",
        "/api/tasksx",
        "/api",
        "/tasks/dashboard",
        "api/tasks/dashboard",
        "/api/tasks/../../evil",
        "/api/tasks/./dashboard",
        "/api/tasks/%2E%2E/%2e%2e/evil",
        "/api/tasks/..%2F..%2Fevil",
        "/api/tasks/login",
        "/api/tasks/dashboard#fragment",
        "/api/tasks/x\ty",
        "/api/tasks/x\x00",
        "/api/tasks/" + "a" * MAX_NEXT_LENGTH,
    ],
)
def test_anything_else_falls_back_to_the_dashboard(candidate: str) -> None:
    assert safe_next(candidate, BASE) == DASHBOARD
