"""Translation between one-off runs and the Redis hash that holds each of them.

A run's hash holds ``run`` (JSON with everything but the token and the arguments), ``token``
(kept apart because a claim compares it alone), and ``args``, ``kwargs`` (bytes from the
injected serializer, absent when the arguments are encrypted) or ``payload`` (the encryption
token), as task hashes do (see ``redis_codec``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from fastapi_taskflow.domain.clock_rules import as_utc
from fastapi_taskflow.domain.scheduled_once import ScheduledOnce
from fastapi_taskflow.ports.serializer import Serializer

#: The hash fields a stored run is read back from, in this order.
ONE_OFF_FIELDS = ("run", "token", "args", "kwargs", "payload")


def encode_one_off(run: ScheduledOnce, serializer: Serializer) -> dict[str, bytes | str]:
    """The hash fields the store writes for ``run``.

    Raises:
        TypeError: the arguments cannot be serialized.
    """
    document = {
        "run_key": run.run_key,
        "func_name": run.func_name,
        "run_at": as_utc(run.run_at).isoformat(),
        "tags": run.tags,
        "priority": run.priority,
        "idempotency_key": run.idempotency_key,
        "created_at": as_utc(run.created_at).isoformat(),
        "timeout": run.timeout,
        "queue": run.queue,
    }
    fields: dict[str, bytes | str] = {
        "run": json.dumps(document, separators=(",", ":")).encode(),
        "token": run.token,
    }
    if run.encrypted_payload is not None:
        # Encrypted arguments are stored only as the token, never in plain form.
        fields["payload"] = run.encrypted_payload
    else:
        fields["args"] = serializer.dumps(run.args)
        fields["kwargs"] = serializer.dumps(run.kwargs)
    return fields


def decode_one_off(fields: Sequence[bytes | None], serializer: Serializer) -> ScheduledOnce:
    """The run stored in the hash fields :data:`ONE_OFF_FIELDS` (in that order)."""
    document, token, args, kwargs, payload = fields
    if document is None or token is None:
        raise ValueError("a one-off run hash without its run or token field")
    data = json.loads(document)
    return ScheduledOnce(
        run_key=data["run_key"],
        func_name=data["func_name"],
        run_at=datetime.fromisoformat(data["run_at"]),
        token=token.decode(),
        args=() if args is None else tuple(serializer.loads(args)),
        kwargs={} if kwargs is None else dict(serializer.loads(kwargs)),
        encrypted_payload=payload,
        tags=dict(data["tags"]),
        priority=data["priority"],
        idempotency_key=data["idempotency_key"],
        created_at=datetime.fromisoformat(data["created_at"]),
        # Runs stored before attempts had a time limit have none.
        timeout=data.get("timeout"),
        queue=data.get("queue"),
    )
