"""Encryption of task arguments at rest."""

from __future__ import annotations

from typing import Protocol


class Cipher(Protocol):
    """Turns plaintext into an opaque token and back."""

    #: False for the pass-through cipher: arguments are stored as they are.
    encrypts: bool

    def encrypt(self, plaintext: bytes) -> bytes:
        """Return a token that only :meth:`decrypt` can read."""
        ...

    def decrypt(self, token: bytes) -> bytes:
        """Return the plaintext of a token made by :meth:`encrypt` (with any known key).

        Raises:
            UnreadableArguments: no known key opens the token.
        """
        ...
