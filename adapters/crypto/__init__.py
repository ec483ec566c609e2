"""Ciphers for task arguments."""

from __future__ import annotations

from fastapi_taskflow.adapters.crypto.fernet_cipher import FernetCipher
from fastapi_taskflow.adapters.crypto.plain_cipher import PlainCipher

__all__ = ["FernetCipher", "PlainCipher"]
