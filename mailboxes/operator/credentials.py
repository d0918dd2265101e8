"""Mailbox passwords encrypted at rest (Fernet), with key rotation.

Keys come from WEBMAIL_CREDENTIAL_KEYS (comma-separated Fernet keys, newest first); with
none set, one key is generated once into the data folder. Never a key in the repository.
Rotation: put the new key first, run `manage.py rotate_credentials`, then drop the old one.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from mailboxes.models import MailboxCredential
from mailboxes.operator import OperatorUnavailable


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


def encrypt(secret: str) -> str:
    return fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise OperatorUnavailable("the stored mailbox password cannot be decrypted") from exc


@transaction.atomic
def rotate_all() -> int:
    """Re-encrypt every stored password with the newest key."""
    count = 0
    for credential in MailboxCredential.objects.select_for_update():
        credential.secret = fernet().rotate(credential.secret.encode()).decode()
        credential.save(update_fields=["secret", "updated"])
        count += 1
    return count
