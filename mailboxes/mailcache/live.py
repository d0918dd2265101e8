"""What changed, and who is looking: a little Redis state shared by the web processes, the
Celery workers and the IDLE watcher.

- A version number per mailbox, bumped whenever its cache changes; open pages poll it.
- The mailboxes people have open (a sorted set by last view); the watcher holds IDLE on them.
- Sync requests, de-duplicated: one task per mailbox per SYNC_INTERVAL however many pages ask.
"""

from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings

from mailboxes import locks as mailbox_locks

logger = logging.getLogger(__name__)

ACTIVE_KEY = "webmail:active"
ACTIVE_SECONDS = 10 * 60
SYNC_INTERVAL = 30


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def locks() -> redis.Redis:
    """Where the per-mailbox sync locks live (mailboxes.locks)."""
    return mailbox_locks.client()


def version(mailbox_id: int) -> int:
    return int(client().get(f"webmail:version:{mailbox_id}") or 0)


def bump(mailbox_id: int) -> int:
    return int(client().incr(f"webmail:version:{mailbox_id}"))


def touch(mailbox_id: int) -> None:
    """Someone has this mailbox open now."""
    client().zadd(ACTIVE_KEY, {str(mailbox_id): time.time()})


def active(within: int = ACTIVE_SECONDS) -> set[int]:
    """The mailboxes someone had open in the last `within` seconds."""
    now = time.time()
    connection = client()
    connection.zremrangebyscore(ACTIVE_KEY, "-inf", now - ACTIVE_SECONDS)
    members = connection.zrangebyscore(ACTIVE_KEY, now - within, "+inf")
    return {int(m) for m in members}  # type: ignore[arg-type]  # plain members, no scores asked


def claim_sync(mailbox_id: int, *, force: bool = False) -> bool:
    """True for the first caller in SYNC_INTERVAL seconds: that one enqueues the sync.
    `force` (after our own change) always claims, and so does the next caller 2 s later."""
    key = f"webmail:sync:asked:{mailbox_id}"
    if force:
        return bool(client().set(key, 1, ex=2))
    return bool(client().set(key, 1, nx=True, ex=SYNC_INTERVAL))
