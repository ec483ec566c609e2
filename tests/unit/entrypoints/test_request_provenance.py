"""What a task records of the request being handled, read from its ASGI scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.authentication import SimpleUser, UnauthenticatedUser
from starlette.routing import Route

from fastapi_taskflow.domain.provenance import Provenance
from fastapi_taskflow.entrypoints.fastapi.principal import PRINCIPAL_SCOPE_KEY
from fastapi_taskflow.entrypoints.fastapi.request_provenance import (
    current_request_scope,
    request_provenance,
)


def endpoint() -> None:
    return None


def http_scope(path: str, *, route: Any = None, **extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "headers": [],
        **extra,
    }
    if route is not None:
        scope["route"] = route
    return scope


@pytest.fixture
def within() -> Iterator[Any]:
    tokens = []

    def enter(scope: dict[str, Any]) -> Provenance | None:
        tokens.append(current_request_scope.set(scope))
        return request_provenance()

    yield enter
    for token in reversed(tokens):
        current_request_scope.reset(token)


def test_outside_a_request_there_is_none() -> None:
    assert request_provenance() is None


def test_the_route_template_is_recorded_not_the_path(within: Any) -> None:
    route = Route("/orders/{order_id}", endpoint)

    found = within(http_scope("/orders/7", route=route))

    assert found is not None
    assert (found.route, found.method) == ("/orders/{order_id}", "POST")


def test_a_prefix_the_route_does_not_carry_is_put_back(within: Any) -> None:
    # As a router included with a prefix may leave its route: declared without the prefix.
    route = Route("/{order_id}/lines", endpoint)

    found = within(http_scope("/shop/orders/7/lines", route=route))

    assert found is not None and found.route == "/shop/orders/{order_id}/lines"


def test_a_mounted_app_keeps_its_mount_path(within: Any) -> None:
    route = Route("/orders/{order_id}", endpoint)

    found = within(http_scope("/api/orders/7", route=route, root_path="/api"))

    assert found is not None and found.route == "/api/orders/{order_id}"


def test_without_a_matched_route_the_path_is_recorded(within: Any) -> None:
    found = within(http_scope("/not/routed"))

    assert found is not None and found.route == "/not/routed"


def test_the_request_id_header_wins_and_one_made_up_id_is_kept_per_request(
    within: Any,
) -> None:
    given = within(http_scope("/a", headers=[(b"x-request-id", b" abc-123 ")]))
    scope = http_scope("/b")
    first, second = within(scope), within(scope)
    other = within(http_scope("/b"))

    assert given is not None and given.request_id == "abc-123"
    assert first is not None and second is not None and other is not None
    assert first.request_id == second.request_id != other.request_id


def test_the_principal_is_the_signed_in_operator_then_the_authenticated_user(
    within: Any,
) -> None:
    operator = within(http_scope("/", **{PRINCIPAL_SCOPE_KEY: "olivia", "user": SimpleUser("x")}))
    user = within(http_scope("/", user=SimpleUser("carol")))
    anonymous = within(http_scope("/", user=UnauthenticatedUser()))

    assert operator is not None and operator.principal == "olivia"
    assert user is not None and user.principal == "carol"
    assert anonymous is not None and anonymous.principal is None


def test_over_long_values_are_shortened_not_refused(within: Any) -> None:
    found = within(http_scope("/" + "p" * 400, headers=[(b"x-request-id", b"r" * 300)]))

    assert found is not None
    assert found.route is not None and len(found.route) == 255
    assert found.request_id == "r" * 255
