"""Push: hold IMAP IDLE (RFC 2177) on the INBOX of every mailbox someone has open, and tell
`on_change` as soon as the operator says something changed (watch_mailboxes syncs the INBOX
at once: mailboxes.actions.syncing.on_inbox_change).

One thread per watched mailbox, each with its own connection (imapclient is not
thread-safe). Which mailboxes to watch comes from `live.active()` (pages mark what they
show); a mailbox nobody has looked at for ACTIVE_SECONDS is let go. IDLE is re-issued before
the 29 minutes RFC 2177 allows, and any error means: wait (backing off), reconnect
(STACK-NOTES §2: connections drop silently). Other folders follow through the pages' own
sync requests (at most every 30 s) and after our own actions.
Mailboxes reached with the person's PSC token (XOAUTH2) cannot be watched: no token here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from mailboxes import logcontext
from mailboxes.mailcache import live
from mailboxes.models import Mailbox
from mailboxes.operator import imap, strategies

logger = logging.getLogger(__name__)

REISSUE_SECONDS = 25 * 60
CHECK_SECONDS = 5  # how often a thread looks at its stop flag while idling
# Reconnecting after a failure: 1 s, doubling, at most 5 s, so new mail shows within
# seconds of the operator being back, even after a long outage (a refused connection costs
# a down server nothing; a thousand watches knock about 200 times a second).
FIRST_RETRY = 1.0
LONGEST_RETRY = 5.0
CHANGES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}


class MailboxWatch(threading.Thread):
    def __init__(self, mailbox: Mailbox, on_change: Callable[[int], None]) -> None:
        super().__init__(name=f"watch-{mailbox.pk}", daemon=True)
        self.mailbox, self.on_change = mailbox, on_change
        self.stopping = threading.Event()
        self.connected = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        logcontext.mailbox_id.set(self.mailbox.pk)  # this thread's own context
        delay = FIRST_RETRY
        try:
            while not self.stopping.is_set():
                try:
                    self.watch()
                except Exception as exc:  # any failure: wait (backing off), reconnect
                    if self.connected.is_set():
                        # It was up: a new outage backs off from the start again (it kept
                        # the last outage's delay: 8 s, then 16, before noticing a restart).
                        delay = FIRST_RETRY
                    self.connected.clear()
                    logger.warning(
                        "IDLE on mailbox %s lost (%s)", self.mailbox.pk, type(exc).__name__
                    )
                    # Jittered: a thousand watches must not all knock at the same instant
                    # when the operator comes back.
                    self.stopping.wait(delay * random.uniform(0.8, 1.2))  # noqa: S311
                    delay = min(delay * 2, LONGEST_RETRY)
        finally:
            connection.close()  # this thread's own database connection

    def watch(self) -> None:
        with imap.imap_session(self.mailbox) as client:
            client.select_folder("INBOX", readonly=True)
            self.on_change(self.mailbox.pk)  # whatever came while we were not listening
            self.connected.set()
            listener = imap.IdleListener(client)
            while not self.stopping.is_set():
                client.idle()
                started = time.monotonic()
                changed = False
                while not self.stopping.is_set() and not changed:
                    if time.monotonic() - started > REISSUE_SECONDS:
                        break
                    changed = tells_a_change(listener.check(timeout=CHECK_SECONDS))
                # What came between the last check and DONE is answered with it: a change
                # then (at a reissue) was lost until the next one (issue 16).
                _, last = client.idle_done()
                if changed or tells_a_change(last):
                    self.on_change(self.mailbox.pk)


def tells_a_change(responses: list[Any]) -> bool:
    """An IDLE response that says the INBOX changed (new, gone or reflagged messages)."""
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] in CHANGES for r in responses)


class Watcher:
    """Keeps one MailboxWatch per mailbox in use; `step()` reconciles, `run()` loops.
    Sharded: watcher `shard` of `shards` owns the mailboxes whose id is `shard` modulo
    `shards`, so N processes (on one machine or several) share the connections and any one
    can be restarted alone."""

    def __init__(
        self,
        on_change: Callable[[int], None],
        every: float = 2.0,
        shard: int = 0,
        shards: int = 1,
    ) -> None:
        if not 0 <= shard < shards:
            raise ValueError(f"shard {shard} of {shards}")
        self.on_change, self.every = on_change, every
        self.shard, self.shards = shard, shards
        self.watches: dict[int, MailboxWatch] = {}
        self.stopping = threading.Event()

    def wanted(self) -> list[Mailbox]:
        mine = [pk for pk in live.active() if pk % self.shards == self.shard]
        active = Mailbox.objects.filter(pk__in=mine)
        return list(strategies.reachable_in_background(active))

    def step(self) -> None:
        wanted = {mailbox.pk: mailbox for mailbox in self.wanted()}
        for pk in set(self.watches) - set(wanted):
            self.watches.pop(pk).stop()
        for pk, mailbox in wanted.items():
            watch = self.watches.get(pk)
            if watch is None or not watch.is_alive():
                self.watches[pk] = watch = MailboxWatch(mailbox, self.on_change)
                watch.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:
                logger.exception("watcher step failed; trying again")
            self.stopping.wait(self.every)
        self.close()
        connection.close()

    def close(self) -> None:
        for watch in self.watches.values():
            watch.stop()
        for watch in self.watches.values():
            watch.join(timeout=CHECK_SECONDS + 5)
        self.watches.clear()

    def stop(self) -> None:
        self.stopping.set()
