"""Where a task came from: the HTTP request (and the trace) that enqueued it."""

from __future__ import annotations

from typing import Any

import attrs

from fastapi_taskflow.domain.limits import check_length


def _short(_inst: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValueError(f"{attribute.name} must be a string, got {type(value).__name__}")
    check_length(attribute.name, value)


@attrs.frozen(kw_only=True)
class Provenance:
    """The request that enqueued a task, as far as it is known.

    Every field is optional: tasks enqueued outside a request (start-up code, scripts,
    schedules) have none of the request fields, and ``trace_parent`` is only set when a tracer
    was active. Values are at most 255 characters, like tags, so every store can index them.
    """

    #: The route template that matched (``/orders/{order_id}``), else the raw path.
    route: str | None = attrs.field(default=None, validator=_short)
    #: The HTTP method (``POST``).
    method: str | None = attrs.field(default=None, validator=_short)
    #: The request id: the incoming ``X-Request-ID`` header, or one made up for the request.
    request_id: str | None = attrs.field(default=None, validator=_short)
    #: The authenticated user, when the app had one for the request.
    principal: str | None = attrs.field(default=None, validator=_short)
    #: The W3C ``traceparent`` of the span that was current at enqueue time.
    trace_parent: str | None = attrs.field(default=None, validator=_short)

    @property
    def empty(self) -> bool:
        """True when nothing is known."""
        return not any(attrs.astuple(self))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape returned by the API (every key present, ``None`` when unknown)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Provenance | None:
        """The inverse of :meth:`to_dict`; ``None`` for ``None`` or an empty mapping."""
        if not data:
            return None
        known = {field.name for field in attrs.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
