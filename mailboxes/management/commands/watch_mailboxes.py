"""Hold IMAP IDLE on the mailboxes people have open and sync their INBOX on every change
(mailboxes.actions.syncing.on_inbox_change: here, not through the broker).

Run one next to the Celery workers: `python manage.py watch_mailboxes`; or several, each
owning a share of the mailboxes: `watch_mailboxes --shard 0/3`, `--shard 1/3`, `--shard 2/3`.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from mailboxes.actions.syncing import on_inbox_change
from mailboxes.mailcache.watcher import Watcher


class Command(BaseCommand):
    help = "Watch the mailboxes in use (IMAP IDLE) and sync them as soon as mail arrives."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=2.0, help="seconds between look-ups")
        parser.add_argument(
            "--shard",
            default="0/1",
            help="I/N: watch the mailboxes whose id is I modulo N (N watchers in all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        shard, _, shards = str(options["shard"]).partition("/")
        try:
            watcher = Watcher(
                on_change=on_inbox_change,
                every=options["every"],
                shard=int(shard),
                shards=int(shards or 1),
            )
        except ValueError as exc:
            raise CommandError(f"--shard must be I/N with 0 <= I < N ({exc})") from None

        def stop(signum: int, frame: object) -> None:
            watcher.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("watching the mailboxes in use (IMAP IDLE); Ctrl-C to stop")
        try:
            watcher.run()
        finally:
            close_old_connections()
