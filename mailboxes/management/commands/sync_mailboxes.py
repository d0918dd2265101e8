"""Sync mailboxes' metadata caches: queue a task per mailbox, or sync here and now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mailboxes.mailcache import sync
from mailboxes.models import Mailbox
from mailboxes.operator import OperatorUnavailable
from mailboxes.operator.strategies import reachable_in_background
from mailboxes.tasks import sync_mailbox


class Command(BaseCommand):
    help = "Bring the metadata cache of every mailbox (or those named) up to date."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addresses", nargs="*", help="mailbox addresses (default: all)")
        parser.add_argument("--now", action="store_true", help="sync here instead of queuing")

    def handle(self, *args: Any, addresses: list[str], now: bool, **options: Any) -> None:
        # A worker has no person's token: only mailboxes reachable without one (strategies).
        mailboxes = reachable_in_background(Mailbox.objects.order_by("address"))
        if addresses:
            mailboxes = mailboxes.filter(address__in=addresses)
        for mailbox in mailboxes:
            if not now:
                sync_mailbox.delay(mailbox.pk)
                continue
            try:
                results = sync.sync_mailbox(mailbox)
            except OperatorUnavailable as exc:
                self.stderr.write(f"{mailbox.address}: {exc}")
                continue
            added = sum(result.added for result in results)
            self.stdout.write(f"{mailbox.address}: {added} new, {len(results)} folders")
