"""Work handed to a Celery worker, named rather than imported.

The tasks module loads mailboxes, locks them and calls actions; the actions and the cache ask
for work by the task's registered name, so nothing below the tasks imports them (no cycle).
A registered name still goes through the task's own `apply_async` (eager mode, routing and
retry options included); `tests/mailboxes/test_tasks.py` checks every name here is registered.
"""

from __future__ import annotations

from celery import current_app

SYNC_MAILBOX = "mailboxes.sync_mailbox"
SEND_OUTGOING = "mailboxes.send_outgoing"
COLLECT_RECEIPTS = "mailboxes.collect_receipts"
NAMES = (SYNC_MAILBOX, SEND_OUTGOING, COLLECT_RECEIPTS)


def later(name: str, *args: object) -> None:
    """Queue the task `name` with `args` (raises kombu's OperationalError when the broker
    cannot be reached: the caller decides whether that matters)."""
    current_app.signature(name, args=args).delay()
