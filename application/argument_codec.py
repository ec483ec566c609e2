"""Sealing task arguments for storage when encryption is on, and opening them to run."""

from __future__ import annotations

from typing import Any

from fastapi_taskflow.domain.errors import TaskArgumentError
from fastapi_taskflow.domain.task import TaskRecord
from fastapi_taskflow.ports.cipher import Cipher
from fastapi_taskflow.ports.serializer import Serializer


class ArgumentCodec:
    """Encrypts ``(args, kwargs)`` into one token and back, through the serializer and cipher."""

    def __init__(self, serializer: Serializer, cipher: Cipher) -> None:
        self._serializer = serializer
        self._cipher = cipher

    @property
    def encrypts(self) -> bool:
        return self._cipher.encrypts

    def seal(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        """Encrypt the arguments; ``TaskArgumentError`` if they cannot be serialized."""
        try:
            plaintext = self._serializer.dumps([list(args), kwargs])
        except (TypeError, ValueError) as exc:
            raise TaskArgumentError(
                f"task arguments cannot be serialized for encryption: {exc}"
            ) from exc
        return self._cipher.encrypt(plaintext)

    def arguments(self, record: TaskRecord) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments to call the task with."""
        if record.encrypted_payload is None:
            return tuple(record.args), dict(record.kwargs)
        args, kwargs = self._serializer.loads(self._cipher.decrypt(record.encrypted_payload))
        return tuple(args), dict(kwargs)
