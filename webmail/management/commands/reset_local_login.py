from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailboxes.models import User
from webmail.auth import local


class Command(BaseCommand):
    help = (
        "Reset a local account's lost password or authenticator app: both are removed and a "
        "new invitation, bound to this account, is e-mailed to it (its delegations stay)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no account has the address {email}")
        try:
            invited = local.do_reset_local_login(user)
        except local.InvitationRefused as exc:
            raise CommandError(
                "this account logs in with Pro Santé Connect or is an administrator's"
            ) from exc
        if not invited.delivered:
            self.stderr.write("the e-mail could not be sent; give the person this link:")
            self.stdout.write(invited.link)
        else:
            self.stdout.write(f"invitation sent to {user.email}")
