"""Mailbox passwords encrypted at rest (keys and rotation: mailboxes/crypto.py)."""

from __future__ import annotations

from django.db import transaction

from mailboxes import crypto
from mailboxes.models import MailboxCredential
from mailboxes.operator import OperatorUnavailable


def encrypt(secret: str) -> str:
    return crypto.encrypt(secret)


def decrypt(token: str) -> str:
    try:
        return crypto.decrypt(token)
    except crypto.InvalidToken as exc:
        raise OperatorUnavailable("the stored mailbox password cannot be decrypted") from exc


@transaction.atomic
def rotate_all() -> int:
    """Re-encrypt every stored password with the newest key."""
    count = 0
    for credential in MailboxCredential.objects.select_for_update():
        credential.secret = crypto.rotate(credential.secret)
        credential.save(update_fields=["secret", "updated"])
        count += 1
    return count
