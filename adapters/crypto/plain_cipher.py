"""The cipher used when argument encryption is off."""

from __future__ import annotations


class PlainCipher:
    """Leaves data as it is; ``encrypts`` is False so callers skip the round trip."""

    encrypts = False

    def encrypt(self, plaintext: bytes) -> bytes:
        return plaintext

    def decrypt(self, token: bytes) -> bytes:
        return token
