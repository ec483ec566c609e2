"""Redis clients that survive dropped connections (server restarts, killed connections)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

#: Attempts after the first failed one; with the backoff below they span a few seconds,
#: about what a restarting Redis needs to accept connections again.
RETRIES = 6

#: Seconds of idleness after which a pooled connection is checked with PING before use.
HEALTH_CHECK_INTERVAL = 15


def connect(url: str, client_kwargs: Mapping[str, Any] | None = None) -> Redis:
    """A client of the server at ``url``; it connects on first use.

    A command that fails on a broken connection is sent again on a new one (up to
    :data:`RETRIES` times, waiting longer each time, with jitter so that many instances do not
    reconnect in step). ``client_kwargs`` go to :class:`redis.asyncio.Redis` and override
    these defaults (``client_name``, ``socket_timeout``, ``retry``, ...).
    """
    options: dict[str, Any] = {
        "retry": Retry(EqualJitterBackoff(cap=2.0, base=0.05), RETRIES),
        "retry_on_error": [ConnectionError, TimeoutError],
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "socket_keepalive": True,
        "socket_connect_timeout": 5.0,
    }
    options.update(client_kwargs or {})
    return Redis.from_url(url, **options)
