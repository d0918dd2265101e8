"""Keeping the metadata cache in step with the operator: asking for a sync, and running one.

Pages never wait for the operator: they ask (`request_sync`) and show what the cache holds;
the open page learns of the sync's result through `live.version`. A mailbox the site can reach
alone is synced by a worker; one reached with the person's own token (XOAUTH2) is synced here,
in their request, since no worker ever holds that token (CONF.28).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from kombu.exceptions import OperationalError

from mailboxes import queue
from mailboxes.mail import receipts
from mailboxes.mailcache import live, sync
from mailboxes.models import Mailbox, Outgoing, SyncState
from mailboxes.operator import OperatorUnavailable, strategies

logger = logging.getLogger(__name__)

# Above the longest sync we expect; the lock expires by itself if a worker dies.
SYNC_LOCK_SECONDS = 15 * 60


def request_sync(mailbox: Mailbox, *, force: bool = False) -> None:
    """Ask for a sync unless one was asked for lately (`force`: after our own change)."""
    live.touch(mailbox.pk)
    claimed = live.claim_sync(mailbox.pk, force=force)
    if not strategies.strategy_for(mailbox).background:
        never = not SyncState.objects.filter(mailbox=mailbox, finished_at__isnull=False).exists()
        if not (claimed or never):
            return
        try:
            do_sync(mailbox)
        except OperatorUnavailable:
            logger.warning("sync of mailbox %s failed in the request", mailbox.pk)
        return
    if not claimed:
        return
    try:
        queue.later(queue.SYNC_MAILBOX, mailbox.pk)
    except OperationalError:
        logger.warning("cannot reach the task broker to sync mailbox %s", mailbox.pk)


def do_sync(mailbox: Mailbox) -> str:
    """Refresh a mailbox's metadata cache. One sync per mailbox at a time, across workers:
    a second one finds the lock taken, leaves a note and returns at once; the running one
    sees the note when it finishes and goes round again, so no change is left behind.
    New mail in INBOX may be a delivery or read report for what the mailbox sent: collected
    by a worker, or here when only the person can reach the mailbox."""
    connection = live.broker()  # one client per process, not one per sync
    again = f"webmail:sync:again:{mailbox.pk}"
    lock = connection.lock(
        f"webmail:lock:sync:{mailbox.pk}", timeout=SYNC_LOCK_SECONDS, blocking=False
    )
    if not lock.acquire():
        connection.set(again, 1, ex=SYNC_LOCK_SECONDS)
        return "skipped"
    added = removed = 0
    try:
        while True:
            connection.delete(again)
            results = sync.sync_mailbox(mailbox)
            added += sum(r.added for r in results)
            removed += sum(r.removed for r in results)
            if any(r.added and r.name == "INBOX" for r in results) and awaits_reports(mailbox):
                if strategies.strategy_for(mailbox).background:
                    queue.later(queue.COLLECT_RECEIPTS, mailbox.pk)
                else:
                    receipts.collect(mailbox)
            if not connection.exists(again):
                break
    finally:
        lock.release()
    return f"{added} added, {removed} removed"


def awaits_reports(mailbox: Mailbox) -> bool:
    """Sent something in the last week: a new message in INBOX may be its DSN or MDN."""
    since = timezone.now() - timedelta(days=7)
    return Outgoing.objects.filter(mailbox=mailbox, sent_at__gte=since).exists()
