"""Secrets encrypted at rest (Fernet), with key rotation: mailbox passwords, one-time-code
app keys and backup codes.

Keys come from WEBMAIL_CREDENTIAL_KEYS (comma-separated Fernet keys, newest first); with
none set, one key is generated once into the data folder. Never a key in the repository.
Rotation: put the new key first, run `manage.py rotate_credentials`, then drop the old one.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "decrypt_bytes", "encrypt", "encrypt_bytes", "rotate"]


def _local_key() -> bytes:
    path = settings.DATA_DIR / "credential_keys"
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("xb") as f:
            f.write(Fernet.generate_key())
        path.chmod(0o600)
    except FileExistsError:
        pass
    return path.read_bytes().strip()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys] or [Fernet(_local_key())])
    except ValueError as exc:
        raise ImproperlyConfigured("WEBMAIL_CREDENTIAL_KEYS holds an invalid Fernet key") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.WEBMAIL_CREDENTIAL_KEYS))


def encrypt_bytes(secret: bytes) -> str:
    return fernet().encrypt(secret).decode()


def decrypt_bytes(token: str) -> bytes:
    """Raises InvalidToken when no configured key opens it."""
    return fernet().decrypt(token.encode())


def encrypt(secret: str) -> str:
    return encrypt_bytes(secret.encode())


def decrypt(token: str) -> str:
    return decrypt_bytes(token).decode()


def rotate(token: str) -> str:
    """The same secret under the newest key."""
    return fernet().rotate(token.encode()).decode()
