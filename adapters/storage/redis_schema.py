"""The version of the Redis store's key layout, checked (and recorded) when the store opens.

Keys added without changing the existing ones (the schedule slots and one-off runs) keep the
version: an older release ignores them.
"""

from __future__ import annotations

from redis.asyncio import Redis

from fastapi_taskflow.adapters.storage.redis_keys import RedisKeys
from fastapi_taskflow.adapters.storage.schema_errors import SchemaTooNew

#: The layout described in ``redis_keys``, ``redis_codec``, ``redis_one_off_codec`` and
#: ``redis_scripts``.
SCHEMA_VERSION = 1


async def check_schema(client: Redis, keys: RedisKeys) -> int:
    """Record :data:`SCHEMA_VERSION` in an empty store; refuse a store of a newer layout.

    Returns the version found before (0 for a new store). When a later release changes the
    layout, this is where a store of an older version gets upgraded.

    Raises:
        SchemaTooNew: the store was written by a newer version of fastapi-taskflow.
        ValueError: the version key holds something else (another application's key).
    """
    created = await client.set(keys.schema, SCHEMA_VERSION, nx=True)
    if created:
        return 0
    raw = await client.get(keys.schema)
    try:
        found = int(raw or b"")
    except ValueError:
        raise ValueError(
            f"the Redis key {keys.schema!r} holds {raw!r}, not a schema version of "
            "fastapi-taskflow; is another application using the same key prefix?"
        ) from None
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the Redis store under prefix {keys.prefix!r} is at schema version {found}, but "
            f"this version of fastapi-taskflow only knows versions up to {SCHEMA_VERSION}; "
            "upgrade fastapi-taskflow"
        )
    return found
