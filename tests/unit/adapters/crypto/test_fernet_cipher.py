"""Argument encryption with Fernet, including key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from fastapi_taskflow.adapters.crypto import FernetCipher, PlainCipher
from fastapi_taskflow.domain.errors import UnreadableArguments


def test_round_trip_and_no_plaintext_in_the_token() -> None:
    cipher = FernetCipher(Fernet.generate_key())
    token = cipher.encrypt(b"card=4242")
    assert b"4242" not in token
    assert cipher.decrypt(token) == b"card=4242"


def test_rotation_reads_old_tokens_and_writes_with_the_newest_key() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    old_token = FernetCipher(old).encrypt(b"legacy")
    rotated = FernetCipher([new, old])
    assert rotated.decrypt(old_token) == b"legacy"
    assert Fernet(new).decrypt(rotated.encrypt(b"fresh")) == b"fresh"


def test_a_token_from_an_unknown_key_is_refused_without_naming_a_key() -> None:
    writer_key, reader_key = Fernet.generate_key(), Fernet.generate_key()
    token = FernetCipher(writer_key).encrypt(b"x")
    with pytest.raises(UnreadableArguments, match="cannot be decrypted") as refused:
        FernetCipher(reader_key).decrypt(token)
    message = str(refused.value)
    assert writer_key.decode() not in message
    assert reader_key.decode() not in message


def test_a_damaged_token_is_refused_like_an_unknown_one() -> None:
    cipher = FernetCipher(Fernet.generate_key())
    with pytest.raises(UnreadableArguments):
        cipher.decrypt(b"not a fernet token")
    token = bytearray(cipher.encrypt(b"x"))
    token[-5] ^= 1
    with pytest.raises(UnreadableArguments):
        cipher.decrypt(bytes(token))


def test_string_keys_work_and_bad_keys_say_how_to_make_one() -> None:
    assert FernetCipher(Fernet.generate_key().decode()).encrypts
    with pytest.raises(ValueError, match=r"encrypt_args_key\[0\] is not a valid Fernet key"):
        FernetCipher("not-a-key")
    with pytest.raises(ValueError, match="at least one key"):
        FernetCipher([])


def test_plain_cipher_is_a_pass_through() -> None:
    assert PlainCipher().decrypt(PlainCipher().encrypt(b"a")) == b"a"
    assert PlainCipher.encrypts is False
