"""Fernet encryption (AES-128-CBC with HMAC-SHA256), with key rotation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi_taskflow.domain.errors import UnreadableArguments


class FernetCipher:
    """Encrypts with the first key and decrypts with any of them.

    Pass several keys, newest first, to rotate: new tokens use the newest key while tasks
    encrypted under an older key stay readable.
    """

    encrypts = True

    def __init__(self, keys: bytes | str | Sequence[bytes | str]) -> None:
        try:
            from cryptography.fernet import Fernet, InvalidToken, MultiFernet
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "argument encryption needs the 'cryptography' package: "
                'pip install "fastapi-taskflow[encryption]"'
            ) from None
        key_list = [keys] if isinstance(keys, (bytes, str)) else list(keys)
        if not key_list:
            raise ValueError("encrypt_args_key needs at least one key")
        fernets = []
        for index, key in enumerate(key_list):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"encrypt_args_key[{index}] is not a valid Fernet key (32 url-safe "
                    f"base64-encoded bytes; make one with Fernet.generate_key()): {exc}"
                ) from None
        self._primary: Any = fernets[0]
        self._all: Any = MultiFernet(fernets)
        self._invalid_token: type[Exception] = InvalidToken

    @property
    def fernet(self) -> Any:
        """The ``cryptography`` Fernet object used for new tokens."""
        return self._primary

    def encrypt(self, plaintext: bytes) -> bytes:
        token: bytes = self._primary.encrypt(plaintext)
        return token

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext of ``token``, trying each key in turn.

        Raises:
            UnreadableArguments: no key opens the token (or it was damaged).
        """
        try:
            plaintext: bytes = self._all.decrypt(token)
        except (self._invalid_token, TypeError):
            raise UnreadableArguments() from None
        return plaintext
