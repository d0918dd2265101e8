"""Keeping the metadata cache in step with the operator: asking for a sync, and running one.

Pages never wait for the operator: they ask (`request_sync`) and show what the cache holds;
the open page learns of the sync's result through `live.version`. A mailbox the site can reach
alone is synced by a worker; one reached with the person's own token (XOAUTH2) is synced here,
in their request, since no worker ever holds that token (CONF.28).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from mailboxes import locks, logcontext, queue
from mailboxes.actions import receipts
from mailboxes.mailcache import cache, live, sync
from mailboxes.models import Mailbox, Outgoing, SyncState
from mailboxes.operator import OperatorUnavailable, strategies

logger = logging.getLogger(__name__)


@logcontext.about_mailbox
def request_sync(mailbox: Mailbox, *, force: bool = False) -> None:
    """Ask for a sync unless one was asked for lately (`force`: after our own change)."""
    claimed = live.touch_and_claim(mailbox.pk, force=force)
    if not strategies.strategy_for(mailbox).background:
        never = not SyncState.objects.filter(mailbox=mailbox, finished_at__isnull=False).exists()
        if not (claimed or never):
            return
        try:
            do_sync(mailbox)
        except OperatorUnavailable:
            logger.warning("sync of mailbox %s failed in the request", mailbox.pk)
        return
    if claimed:
        _enqueue(mailbox)


def keep_fresh(mailbox: Mailbox) -> bool:
    """What an open list's event stream asks at each heartbeat (webmail/push.py), instead of
    the poll's `request_sync`: the mailbox stays watched (IDLE) and a worker syncs it at most
    every SYNC_INTERVAL. False when only the person's own request can sync it (XOAUTH2): the
    stream then tells the page to ask through `changes`, which syncs in the request."""
    if not strategies.strategy_for(mailbox).background:
        live.touch(mailbox.pk)
        return False
    if live.touch_and_claim(mailbox.pk):
        _enqueue(mailbox)
    return True


def _enqueue(mailbox: Mailbox) -> None:
    try:
        queue.later(queue.SYNC_MAILBOX, mailbox.pk)
    except OperationalError:
        logger.warning("cannot reach the task broker to sync mailbox %s", mailbox.pk)


def on_inbox_change(mailbox_id: int) -> None:
    """The IDLE watcher's answer when the operator says something changed in a mailbox's
    INBOX: sync that folder here and now, without the broker (issue 16: new mail visible
    within a second; a worker's pickup added up to 1.7 s under load). A mailbox whose cache
    is not whole yet (its first sync or a backfill still to do) is left to the workers, as
    is any failure here: the sync is queued instead, so nothing is lost."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return
    if not strategies.strategy_for(mailbox).background or cache.unfinished(
        Mailbox.objects.filter(pk=mailbox.pk)
    ):
        _enqueue(mailbox)
        return
    try:
        do_sync(mailbox, only="INBOX")
    except Exception as exc:  # the operator, the database: a worker tries again
        logger.warning("INBOX sync of mailbox %s failed (%s)", mailbox.pk, type(exc).__name__)
        _enqueue(mailbox)


@logcontext.about_mailbox
def do_sync(mailbox: Mailbox, only: str | None = None) -> str:
    """Refresh a mailbox's metadata cache. One sync per mailbox at a time, across workers:
    a second one finds the lock taken, leaves a note and returns at once; the running one
    sees the note when it finishes and goes round again, so no change is left behind.
    New mail in INBOX may be a delivery or read report for what the mailbox sent: collected
    by a worker, or here when only the person can reach the mailbox. `only`: that folder
    first (sync.sync_mailbox); a sync asked for meanwhile makes the next round a whole one."""
    connection = live.locks()  # one client per process, not one per sync
    again = f"webmail:sync:again:{mailbox.pk}"
    seconds = settings.WEBMAIL_SYNC_LOCK_SECONDS
    lock = connection.lock(  # not thread-local: the renewal thread holds it too
        locks.sync_key(mailbox.pk), timeout=seconds, blocking=False, thread_local=False
    )
    if not lock.acquire():
        connection.set(again, 1, ex=max(seconds, 60))
        return "skipped"
    added = removed = 0
    # Short-lived and renewed while the sync runs: a worker killed mid-sync holds the mailbox
    # for `seconds` at most, not the length of the longest sync (issue 17).
    renewing = _Renewal(lock, every=seconds / 3)
    renewing.start()
    try:
        while True:
            connection.delete(again)
            results = sync.sync_mailbox(mailbox, only=only)
            only = None  # another round: whoever asked meanwhile asked for everything
            added += sum(r.added for r in results)
            removed += sum(r.removed for r in results)
            if any(r.added and r.name == "INBOX" for r in results) and awaits_reports(mailbox):
                if strategies.strategy_for(mailbox).background:
                    queue.later(queue.COLLECT_RECEIPTS, mailbox.pk)
                else:
                    receipts.do_collect_receipts(mailbox)
            if not connection.exists(again):
                break
    finally:
        renewing.stop()
        with contextlib.suppress(LockError):  # expired meanwhile (the process was frozen)
            lock.release()
    return f"{added} added, {removed} removed"


class _Renewal(threading.Thread):
    """Keeps a Redis lock alive (its full timeout again) every `every` seconds until stopped."""

    def __init__(self, lock: Lock, every: float) -> None:
        super().__init__(name="sync-lock-renewal", daemon=True)
        self.lock, self.every = lock, every
        self.stopping = threading.Event()

    def start(self) -> None:
        self.context = contextvars.copy_context()  # its warning names the sync's mailbox
        super().start()

    def run(self) -> None:
        self.context.run(self.renew)

    def renew(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                self.lock.reacquire()
            except (LockError, RedisError):
                logger.warning("sync lock could not be renewed")
                return

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def awaits_reports(mailbox: Mailbox) -> bool:
    """Sent something in the last week: a new message in INBOX may be its DSN or MDN."""
    since = timezone.now() - timedelta(days=7)
    return Outgoing.objects.filter(mailbox=mailbox, sent_at__gte=since).exists()
