"""manage.py seed_demo: demo structures, professionals and mailboxes, and their mail."""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mailboxes.models import Mailbox
from webmail.demo import seed


class Command(BaseCommand):
    help = "Create the demo directory and deliver the demo mail through the operator's MX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-mail", action="store_true", help="directory only")
        parser.add_argument(
            "--mx-port", type=int, default=int(os.environ.get("OPERATOR_MX_PORT", "31025"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mailboxes = seed.seed_directory()
        self.stdout.write(f"directory: {len(mailboxes)} mailboxes")
        self.write_secretaries(seed.seed_secretaries(mailboxes))
        if options["no_mail"]:
            return
        sent = seed.seed_mail(mailboxes, settings.OPERATOR_IMAP_HOST, options["mx_port"])
        if sent:
            wait_for_delivery(mailboxes)
        self.stdout.write(f"mail: {sent} message(s) delivered")

    def write_secretaries(self, secretaries: list[seed.Secretary]) -> None:
        self.stdout.write("secretaries of the pharmacy (delegated by Jeanne, role sender):")
        for secretary in secretaries:
            person = secretary.person
            way = (
                f"invitation: {secretary.link}"
                if secretary.link
                else 'set up: log in under "Personnels sans e-CPS"'
            )
            self.stdout.write(f"  {person.get_full_name()} <{person.email}>  {way}")


def wait_for_delivery(mailboxes: dict[str, Mailbox], seconds: float = 30) -> None:
    """Postfix delivers asynchronously: wait until every demo message is in its INBOX."""
    deadline = time.monotonic() + seconds
    while seed.missing_messages(mailboxes):
        if time.monotonic() > deadline:
            raise TimeoutError("the demo mail was not delivered in time; see the operator's logs")
        time.sleep(0.3)
