"""Encryption at rest for secrets ZincDash must keep, such as Zinc's X-Api-Key.

Fernet gives authenticated encryption, so a tampered value fails to decrypt
instead of yielding a wrong key.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class DecryptionError(Exception):
    """A stored secret could not be decrypted with the configured key."""


@cache
def _fernet(key: str, secret_key: str) -> Fernet:
    if key:
        return Fernet(key.encode())
    # Development fallback: derive a stable Fernet key from SECRET_KEY. The
    # settings refuse to start in production without FIELD_ENCRYPTION_KEY.
    digest = hashlib.sha256(b"zincdash-field-encryption:" + secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _current() -> Fernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "Stored secret could not be decrypted; was FIELD_ENCRYPTION_KEY changed?"
        ) from None
