"""Encoding task arguments into bytes (for storage, encryption and other processes)."""

from __future__ import annotations

from typing import Any, Protocol


class Serializer(Protocol):
    """Encodes Python values into bytes and back."""

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``; raises ``TypeError`` or ``ValueError`` when it cannot."""
        ...

    def loads(self, data: bytes) -> Any:
        """Decode bytes made by :meth:`dumps`."""
        ...
