from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mailboxes.models.devices import rotate_secrets
from mailboxes.operator.credentials import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt stored mailbox passwords, authenticator app keys and backup codes with "
        "the first key of WEBMAIL_CREDENTIAL_KEYS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{rotate_all()} credential(s) re-encrypted")
        self.stdout.write(f"{rotate_secrets()} one-time-code secret(s) re-encrypted")
