"""Encryption of secrets at rest (connection client secrets and certificates).

Keys come from P2C_ENCRYPTION_KEYS (comma-separated; the first encrypts, all decrypt, so keys can be rotated),
or are derived from SECRET_KEY when that is not set.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (were they rotated away?)."""


def _fernet_key(material: str) -> bytes:
    try:
        key = material.encode()
        Fernet(key)
        return key
    except ValueError:
        # Not a Fernet key: derive one, so a passphrase or SECRET_KEY can serve.
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"p2c-secrets", info=b"fernet").derive(
            material.encode())
        return base64.urlsafe_b64encode(derived)


@functools.cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def cipher() -> MultiFernet:
    keys = tuple(settings.P2C_ENCRYPTION_KEYS) or (settings.SECRET_KEY,)
    return _cipher(keys)


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret cannot be decrypted with the configured keys") from None


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plaintext, the database never does."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
