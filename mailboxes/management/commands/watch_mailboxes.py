"""Hold IMAP IDLE on the mailboxes people have open and ask for a sync on every change.

Run one (and only one) next to the Celery workers: `python manage.py watch_mailboxes`.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from mailboxes.mailcache.watcher import Watcher, enqueue_sync


class Command(BaseCommand):
    help = "Watch the mailboxes in use (IMAP IDLE) and sync them as soon as mail arrives."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=2.0, help="seconds between look-ups")

    def handle(self, *args: Any, **options: Any) -> None:
        watcher = Watcher(on_change=enqueue_sync, every=options["every"])

        def stop(signum: int, frame: object) -> None:
            watcher.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("watching the mailboxes in use (IMAP IDLE); Ctrl-C to stop")
        try:
            watcher.run()
        finally:
            close_old_connections()
