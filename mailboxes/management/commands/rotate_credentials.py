from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mailboxes.operator.credentials import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt stored mailbox passwords with the first key of WEBMAIL_CREDENTIAL_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{rotate_all()} credential(s) re-encrypted")
