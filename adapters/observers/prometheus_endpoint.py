"""An ASGI endpoint serving a Prometheus registry, for an app to mount at ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_READ_METHODS = frozenset({"GET", "HEAD"})


class MetricsEndpoint:
    """Answers ``GET`` with the registry in the Prometheus text format, or in OpenMetrics
    when the scraper's ``Accept`` header asks for it (``application/openmetrics-text``).

    It is an ASGI application, not a function, so Starlette and FastAPI route to it as such:
    ``app.add_route("/metrics", endpoint)`` serves exactly ``/metrics``, and
    ``app.mount("/metrics", endpoint)`` works too. Responses are gzipped when the client
    accepts it; ``?name[]=...`` restricts the output to the named series. Methods other than
    ``GET`` and ``HEAD`` get ``405 Method Not Allowed``.

    Args:
        registry: The registry to serve.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._serve = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"the metrics endpoint serves HTTP only, not {scope['type']!r}")
        if scope["method"] not in _READ_METHODS:
            await _method_not_allowed(send)
            return
        await self._serve(scope, receive, send)

    def __repr__(self) -> str:
        return f"MetricsEndpoint({self.registry!r})"


async def _method_not_allowed(send: Send) -> None:
    body = b"the metrics endpoint answers GET and HEAD only\n"
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"allow", b"GET, HEAD"),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
